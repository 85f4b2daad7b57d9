//! JwtVerifier and JwtIssuer: valid tokens are accepted; every kind of bad token is refused
//! with the right reason, never with a panic.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use flame_auth::jwt::{Expected, JwtAlgorithm, JwtIssuer, JwtVerifier};
use flame_auth::{AuthError, TokenRejection, TokenVerifier, User, UserActor};
use proptest::prelude::*;
use serde_json::json;

fn hs_verifier() -> JwtVerifier {
    JwtVerifier::hs256(SECRET, Expected::new(ISSUER, AUDIENCE)).unwrap()
}

fn rejected(verifier: &JwtVerifier, token: &str) -> TokenRejection {
    match verifier.verify_sync(token) {
        Err(AuthError::InvalidToken(rejection)) => rejection,
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

#[test]
fn a_hand_made_valid_token_is_accepted() {
    let actor = hs_verifier()
        .verify_sync(&hs256_token(&valid_claims()))
        .unwrap();
    let user = actor.user();
    assert_eq!(user.id, "u1");
    assert_eq!(user.username, "ada");
    assert!(user.has_permission("posts:write"));
    // Custom claims are kept, registered ones are not.
    assert_eq!(user.claims.get("email"), Some(&json!("ada@example.com")));
    for registered in [
        "sub",
        "exp",
        "nbf",
        "iat",
        "iss",
        "aud",
        "username",
        "permissions",
    ] {
        assert!(!user.claims.contains_key(registered), "{registered} leaked");
    }
    // The identity lasts until exp plus the leeway: the one place a leeway is applied.
    let exp = valid_claims()["exp"].as_u64().unwrap();
    assert_eq!(
        actor.expires_at(),
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(exp) + flame_auth::jwt::DEFAULT_LEEWAY)
    );
}

#[tokio::test]
async fn the_async_trait_agrees_with_verify_sync() {
    let verifier: std::sync::Arc<dyn TokenVerifier> = std::sync::Arc::new(hs_verifier());
    assert!(verifier.verify(&hs256_token(&valid_claims())).await.is_ok());
    assert!(verifier.verify("a.b.c").await.is_err());
}

#[test]
fn tampered_tokens_are_refused() {
    let token = hs256_token(&valid_claims());
    let [header, _payload, signature]: [&str; 3] =
        token.split('.').collect::<Vec<_>>().try_into().unwrap();

    // A payload granting admin, with the original signature.
    let forged = with(valid_claims(), "permissions", json!(["admin"]));
    let tampered = format!(
        "{header}.{}.{signature}",
        b64(forged.to_string().as_bytes())
    );
    assert_eq!(
        rejected(&hs_verifier(), &tampered),
        TokenRejection::BadSignature
    );

    // One signature character changed.
    let mut bad_sig = token.clone().into_bytes();
    let last = bad_sig.len() - 2;
    bad_sig[last] = if bad_sig[last] == b'A' { b'B' } else { b'A' };
    let bad_sig = String::from_utf8(bad_sig).unwrap();
    assert_eq!(
        rejected(&hs_verifier(), &bad_sig),
        TokenRejection::BadSignature
    );

    // Signed with another secret.
    let other = hs256_token_with_header(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &valid_claims(),
        b"another secret that is also long enough",
    );
    assert_eq!(
        rejected(&hs_verifier(), &other),
        TokenRejection::BadSignature
    );

    // No signature at all.
    let unsigned = format!(
        "{header}.{_payload}.",
        _payload = token.split('.').nth(1).unwrap()
    );
    assert!(hs_verifier().verify_sync(&unsigned).is_err());
}

#[test]
fn expired_tokens_are_refused_beyond_the_leeway() {
    let expired_long_ago = with(valid_claims(), "exp", json!(now() - 3600));
    let err = hs_verifier()
        .verify_sync(&hs256_token(&expired_long_ago))
        .unwrap_err();
    assert_eq!(err, AuthError::InvalidToken(TokenRejection::Expired));
    assert_eq!(err.code(), "token_expired");
    assert_eq!(err.status(), http::StatusCode::UNAUTHORIZED);

    // Ten seconds late: within the default 30 s leeway, outside a 5 s one.
    let just_expired = hs256_token(&with(valid_claims(), "exp", json!(now() - 10)));
    assert!(hs_verifier().verify_sync(&just_expired).is_ok());
    let strict = hs_verifier().leeway(Duration::from_secs(5));
    assert_eq!(rejected(&strict, &just_expired), TokenRejection::Expired);
}

#[test]
fn not_yet_valid_tokens_are_refused() {
    let future = with(valid_claims(), "nbf", json!(now() + 3600));
    assert_eq!(
        rejected(&hs_verifier(), &hs256_token(&future)),
        TokenRejection::NotYetValid
    );
    // Clock skew within the leeway is fine.
    let skewed = with(valid_claims(), "nbf", json!(now() + 10));
    assert!(hs_verifier().verify_sync(&hs256_token(&skewed)).is_ok());
}

#[test]
fn wrong_or_missing_issuer_is_refused() {
    let wrong = with(valid_claims(), "iss", json!("https://evil.test"));
    assert_eq!(
        rejected(&hs_verifier(), &hs256_token(&wrong)),
        TokenRejection::WrongIssuer
    );
    let missing = without(valid_claims(), "iss");
    assert_eq!(
        rejected(&hs_verifier(), &hs256_token(&missing)),
        TokenRejection::MissingClaim("iss".into())
    );
}

#[test]
fn wrong_or_missing_audience_is_refused() {
    let wrong = with(valid_claims(), "aud", json!("another-api"));
    assert_eq!(
        rejected(&hs_verifier(), &hs256_token(&wrong)),
        TokenRejection::WrongAudience
    );
    let wrong_list = with(valid_claims(), "aud", json!(["a", "b"]));
    assert_eq!(
        rejected(&hs_verifier(), &hs256_token(&wrong_list)),
        TokenRejection::WrongAudience
    );
    let in_list = with(valid_claims(), "aud", json!(["a", AUDIENCE]));
    assert!(hs_verifier().verify_sync(&hs256_token(&in_list)).is_ok());
    let missing = without(valid_claims(), "aud");
    assert_eq!(
        rejected(&hs_verifier(), &hs256_token(&missing)),
        TokenRejection::MissingClaim("aud".into())
    );
    // A verifier without an audience refuses tokens that name one (RFC 7519, 4.1.3).
    let no_audience = JwtVerifier::hs256(SECRET, Expected::issuer_only(ISSUER)).unwrap();
    assert_eq!(
        rejected(&no_audience, &hs256_token(&valid_claims())),
        TokenRejection::WrongAudience
    );
}

#[test]
fn missing_sub_or_exp_is_refused() {
    assert_eq!(
        rejected(
            &hs_verifier(),
            &hs256_token(&without(valid_claims(), "sub"))
        ),
        TokenRejection::MissingClaim("sub".into())
    );
    assert_eq!(
        rejected(
            &hs_verifier(),
            &hs256_token(&without(valid_claims(), "exp"))
        ),
        TokenRejection::MissingClaim("exp".into())
    );
    // exp as a string is not a date.
    let stringly = with(valid_claims(), "exp", json!("tomorrow"));
    assert_eq!(
        rejected(&hs_verifier(), &hs256_token(&stringly)),
        TokenRejection::Malformed
    );
}

#[test]
fn alg_none_is_refused() {
    let payload = valid_claims().to_string();
    for header in [
        r#"{"alg":"none","typ":"JWT"}"#,
        r#"{"alg":"None"}"#,
        r#"{"alg":"NONE"}"#,
    ] {
        let input = signing_input(header, &payload);
        for token in [format!("{input}."), format!("{input}.{}", b64(b"sig"))] {
            assert_eq!(
                rejected(&hs_verifier(), &token),
                TokenRejection::UnsupportedAlgorithm,
                "{header} / {token}"
            );
        }
    }
    // A header without alg at all.
    let token = hs256_token_with_header(r#"{"typ":"JWT"}"#, &valid_claims(), SECRET);
    assert!(hs_verifier().verify_sync(&token).is_err());
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_refused_by_an_rs256_verifier() {
    // The classic algorithm-confusion attack: the attacker knows the public key and uses
    // it as an HMAC secret, hoping the verifier follows the token's `alg`.
    let public_pem = key("rsa_public.pem");
    let rs = JwtVerifier::rs256_pem(&public_pem, Expected::new(ISSUER, AUDIENCE)).unwrap();
    let forged = hs256_token_with_header(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &valid_claims(),
        &public_pem,
    );
    assert_eq!(rejected(&rs, &forged), TokenRejection::UnsupportedAlgorithm);

    // The same check with the EC key.
    let ec_pem = key("ec_public.pem");
    let es = JwtVerifier::es256_pem(&ec_pem, Expected::new(ISSUER, AUDIENCE)).unwrap();
    let forged =
        hs256_token_with_header(r#"{"alg":"HS256","typ":"JWT"}"#, &valid_claims(), &ec_pem);
    assert_eq!(rejected(&es, &forged), TokenRejection::UnsupportedAlgorithm);
}

#[test]
fn tokens_of_another_algorithm_are_refused() {
    let user = User::new("u1", "ada");
    let rs_token = JwtIssuer::rs256_pem(&key("rsa_private.pem"))
        .unwrap()
        .issue(&user)
        .unwrap();
    let es_token = JwtIssuer::es256_pem(&key("ec_private.pem"))
        .unwrap()
        .issue(&user)
        .unwrap();
    let hs_token = JwtIssuer::hs256(SECRET).unwrap().issue(&user).unwrap();

    let hs = JwtVerifier::hs256(SECRET, Expected::unchecked()).unwrap();
    let rs = JwtVerifier::rs256_pem(&key("rsa_public.pem"), Expected::unchecked()).unwrap();
    let es = JwtVerifier::es256_pem(&key("ec_public.pem"), Expected::unchecked()).unwrap();

    assert_eq!(
        rejected(&hs, &rs_token),
        TokenRejection::UnsupportedAlgorithm
    );
    assert_eq!(
        rejected(&hs, &es_token),
        TokenRejection::UnsupportedAlgorithm
    );
    assert_eq!(
        rejected(&rs, &hs_token),
        TokenRejection::UnsupportedAlgorithm
    );
    assert_eq!(
        rejected(&rs, &es_token),
        TokenRejection::UnsupportedAlgorithm
    );
    assert_eq!(
        rejected(&es, &hs_token),
        TokenRejection::UnsupportedAlgorithm
    );
    assert_eq!(
        rejected(&es, &rs_token),
        TokenRejection::UnsupportedAlgorithm
    );

    // Relabelled: an RS256 token whose header claims HS256 (signature kept).
    let [_, payload, signature]: [&str; 3] =
        rs_token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let relabelled = format!(
        "{}.{payload}.{signature}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#)
    );
    assert_eq!(
        rejected(&rs, &relabelled),
        TokenRejection::UnsupportedAlgorithm
    );
    assert_eq!(rejected(&hs, &relabelled), TokenRejection::BadSignature);
}

#[test]
fn rs256_and_es256_round_trip_and_detect_tampering() {
    let user = User::new("u2", "grace")
        .with_permissions(["admin", "ops"])
        .with_claim("team", "core");
    for (issuer, verifier, alg) in [
        (
            JwtIssuer::rs256_pem(&key("rsa_private.pem")).unwrap(),
            JwtVerifier::rs256_pem(&key("rsa_public.pem"), Expected::new(ISSUER, AUDIENCE))
                .unwrap(),
            JwtAlgorithm::Rs256,
        ),
        (
            JwtIssuer::es256_pem(&key("ec_private.pem")).unwrap(),
            JwtVerifier::es256_pem(&key("ec_public.pem"), Expected::new(ISSUER, AUDIENCE)).unwrap(),
            JwtAlgorithm::Es256,
        ),
    ] {
        let issuer = issuer.issuer(ISSUER).audience(AUDIENCE);
        assert_eq!((issuer.algorithm(), verifier.algorithm()), (alg, alg));
        let token = issuer.issue(&user).unwrap();
        let actor = verifier.verify_sync(&token).unwrap();
        assert_eq!(actor.user(), &user, "{alg:?}");

        let [header, _, signature]: [&str; 3] =
            token.split('.').collect::<Vec<_>>().try_into().unwrap();
        let forged = json!({"sub": "u0", "username": "root", "permissions": ["admin"], "exp": now() + 60, "iss": ISSUER, "aud": AUDIENCE});
        let tampered = format!(
            "{header}.{}.{signature}",
            b64(forged.to_string().as_bytes())
        );
        assert_eq!(
            rejected(&verifier, &tampered),
            TokenRejection::BadSignature,
            "{alg:?}"
        );
    }
}

#[test]
fn issuer_settings_are_checked_by_the_verifier() {
    let user = User::new("u1", "ada");
    let wrong_iss = JwtIssuer::hs256(SECRET)
        .unwrap()
        .issuer("other")
        .audience(AUDIENCE);
    assert_eq!(
        rejected(&hs_verifier(), &wrong_iss.issue(&user).unwrap()),
        TokenRejection::WrongIssuer
    );
    let expired = JwtIssuer::hs256(SECRET)
        .unwrap()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .ttl(Duration::from_secs(60));
    let token = expired
        .issue_at(&user, SystemTime::now() - Duration::from_secs(600))
        .unwrap();
    assert_eq!(rejected(&hs_verifier(), &token), TokenRejection::Expired);
    // A token issued in the future is not valid yet (nbf = iat).
    let early = expired
        .issue_at(&user, SystemTime::now() + Duration::from_secs(600))
        .unwrap();
    assert_eq!(
        rejected(&hs_verifier(), &early),
        TokenRejection::NotYetValid
    );
    // Registered claims in User::claims cannot override what the issuer sets.
    let sneaky = User::new("u1", "ada")
        .with_claim("exp", 1)
        .with_claim("sub", "u0");
    let token = JwtIssuer::hs256(SECRET)
        .unwrap()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .issue(&sneaky)
        .unwrap();
    assert_eq!(hs_verifier().verify_sync(&token).unwrap().user().id, "u1");
}

#[test]
fn oversized_tokens_are_refused_before_parsing() {
    let huge = format!(
        "{}.{}.{}",
        "a".repeat(4096),
        "b".repeat(4096),
        "c".repeat(100)
    );
    assert_eq!(
        rejected(&hs_verifier(), &huge),
        TokenRejection::TooLarge {
            len: huge.len(),
            max: 8 * 1024
        }
    );
    // A valid token padded with a huge claim is refused for its size alone.
    let fat = with(valid_claims(), "blob", json!("x".repeat(9000)));
    assert!(matches!(
        rejected(&hs_verifier(), &hs256_token(&fat)),
        TokenRejection::TooLarge { .. }
    ));
}

#[test]
fn garbage_is_an_invalid_token() {
    let invalid_utf8_header = format!(
        "{}.{}.{}",
        b64(&[0xff, 0xfe, 0xfd]),
        b64(b"{}"),
        b64(b"sig")
    );
    let cases = [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "...",
        "a..c",
        "héllo.wörld.x",
        "a b.c d.e f",
        "Bearer x.y.z",
        "eyJhbGciOiJIUzI1NiJ9.%%%.abc",
        invalid_utf8_header.as_str(),
    ];
    for token in cases {
        let err = hs_verifier().verify_sync(token).unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidToken(_)),
            "{token:?}: {err:?}"
        );
        assert_eq!(err.code(), "invalid_token");
    }
    // Valid base64 of a JSON array as the payload.
    let token = hs256_token_with_header(r#"{"alg":"HS256"}"#, &json!([1, 2, 3]), SECRET);
    assert!(matches!(
        hs_verifier().verify_sync(&token),
        Err(AuthError::InvalidToken(_))
    ));
}

#[test]
fn weak_or_wrong_keys_are_configuration_errors() {
    for err in [
        JwtVerifier::hs256(b"short", Expected::unchecked()).unwrap_err(),
        JwtIssuer::hs256(&[1; 31]).unwrap_err(),
        JwtVerifier::rs256_pem(b"nope", Expected::unchecked()).unwrap_err(),
        JwtVerifier::es256_pem(&key("rsa_public.pem"), Expected::unchecked()).unwrap_err(),
        JwtIssuer::rs256_pem(&key("rsa_public.pem")).unwrap_err(),
    ] {
        assert!(matches!(err, AuthError::Configuration(_)), "{err:?}");
        assert_eq!(err.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.public_message(), "internal error");
    }
    // Debug output never shows the secret.
    let debug = format!(
        "{:?} {:?}",
        JwtVerifier::hs256(SECRET, Expected::unchecked()).unwrap(),
        JwtIssuer::hs256(SECRET).unwrap()
    );
    assert!(!debug.contains("flame-auth test secret"), "{debug}");
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(token in ".{0,300}") {
        let result = hs_verifier().verify_sync(&token);
        prop_assert!(matches!(result, Err(AuthError::InvalidToken(_))));
    }

    #[test]
    fn arbitrary_segments_never_panic(
        header in proptest::collection::vec(any::<u8>(), 0..64),
        payload in proptest::collection::vec(any::<u8>(), 0..128),
        signature in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let token = format!("{}.{}.{}", b64(&header), b64(&payload), b64(&signature));
        prop_assert!(matches!(hs_verifier().verify_sync(&token), Err(AuthError::InvalidToken(_))));
    }

    #[test]
    fn arbitrary_json_payloads_with_a_valid_signature_never_panic(
        claims in proptest::collection::btree_map("[a-z]{1,4}", any::<i64>(), 0..6),
    ) {
        let token = hs256_token(&serde_json::to_value(claims).unwrap());
        // Mostly missing claims; must be a clean error either way.
        prop_assert!(hs_verifier().verify_sync(&token).is_err());
    }
}
