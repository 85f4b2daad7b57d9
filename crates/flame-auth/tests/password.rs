//! Argon2id password hashing.

use flame_auth::AuthError;
use flame_auth::password::{
    MAX_PASSWORD_LEN, PasswordParams, hash_password, hash_password_with, verify_password,
};

const CHEAP: PasswordParams = PasswordParams {
    memory_kib: 256,
    iterations: 1,
    parallelism: 1,
};

#[test]
fn round_trip_with_the_default_parameters() {
    let hash = hash_password("correct horse battery staple").unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(verify_password("correct horse battery staple", &hash).unwrap());
    assert!(!verify_password("correct horse battery stapler", &hash).unwrap());
    assert!(!verify_password("", &hash).unwrap());
}

#[test]
fn wrong_passwords_and_salts() {
    let a = hash_password_with("hunter2", CHEAP).unwrap();
    let b = hash_password_with("hunter2", CHEAP).unwrap();
    assert_ne!(a, b, "every hash has its own salt");
    assert!(verify_password("hunter2", &a).unwrap());
    assert!(verify_password("hunter2", &b).unwrap());
    assert!(!verify_password("Hunter2", &a).unwrap());
    assert!(!verify_password("hunter2 ", &a).unwrap());
    // Unicode passwords work byte for byte.
    let u = hash_password_with("pässwörd🔑", CHEAP).unwrap();
    assert!(verify_password("pässwörd🔑", &u).unwrap());
    assert!(!verify_password("passwort🔑", &u).unwrap());
}

#[test]
fn limits_and_corrupt_hashes() {
    let long = "x".repeat(MAX_PASSWORD_LEN + 1);
    let err = hash_password_with(&long, CHEAP).unwrap_err();
    assert!(matches!(err, AuthError::InvalidInput(_)));
    assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
    let ok = "x".repeat(MAX_PASSWORD_LEN);
    let hash = hash_password_with(&ok, CHEAP).unwrap();
    assert!(verify_password(&ok, &hash).unwrap());
    assert!(!verify_password(&long, &hash).unwrap());

    for corrupt in [
        "",
        "plaintext",
        "$argon2id$v=19$m=256,t=1,p=1$bad",
        "$2b$12$bcrypthashhere",
    ] {
        let err = verify_password("pw", corrupt).unwrap_err();
        assert!(err.is_server_error(), "{corrupt}: {err:?}");
    }
    let bad_params = PasswordParams {
        memory_kib: 1,
        iterations: 0,
        parallelism: 0,
    };
    assert!(matches!(
        hash_password_with("pw", bad_params),
        Err(AuthError::Configuration(_))
    ));
}
