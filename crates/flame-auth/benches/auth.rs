//! What authentication adds to a request: verifying a token and then running two claim
//! validators, against running the two validators alone on an already-built user actor.
//! Same run, same machine; compare the figures side by side.
//!
//! `cargo bench -p flame-auth --bench auth`
//!
//! One run on the 2-core development VM (noisy; repeat runs vary by up to 2x, ratios hold):
//! validators only 57 ns; HS256 verify + validators 8.9 us; session verify (10,000 sessions
//! stored) + validators 0.60 us; RS256 0.49 ms; ES256 0.59 ms; refusing a tampered HS256
//! token 4.0 us. jsonwebtoken's own decode is about 5 us of the HS256 figure.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_main};
use flame_auth::jwt::{Expected, JwtIssuer, JwtVerifier};
use flame_auth::session::SessionStore;
use flame_auth::{
    AuthenticatedUser, TokenVerifier, User, check_actor, has_permission, is_authenticated,
};

const SECRET: &[u8] = b"benchmark secret, at least thirty-two bytes";

fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|err| panic!("test key {name}: {err}"))
}

fn user() -> User {
    User::new("u1", "ada")
        .with_permissions(["posts:read", "posts:write", "comments:write"])
        .with_claim("email", "ada@example.com")
}

fn bench_auth(c: &mut Criterion) {
    let authenticated = is_authenticated();
    let may_write = has_permission("posts:write");

    let hs_token = JwtIssuer::hs256(SECRET)
        .and_then(|issuer| issuer.issuer("bench").audience("api").issue(&user()))
        .unwrap_or_else(|err| panic!("{err}"));
    let hs = JwtVerifier::hs256(SECRET, Expected::new("bench", "api"))
        .unwrap_or_else(|err| panic!("{err}"));
    let es_token = JwtIssuer::es256_pem(&key("ec_private.pem"))
        .and_then(|issuer| issuer.issue(&user()))
        .unwrap_or_else(|err| panic!("{err}"));
    let es = JwtVerifier::es256_pem(&key("ec_public.pem"), Expected::unchecked())
        .unwrap_or_else(|err| panic!("{err}"));
    let rs_token = JwtIssuer::rs256_pem(&key("rsa_private.pem"))
        .and_then(|issuer| issuer.issue(&user()))
        .unwrap_or_else(|err| panic!("{err}"));
    let rs = JwtVerifier::rs256_pem(&key("rsa_public.pem"), Expected::unchecked())
        .unwrap_or_else(|err| panic!("{err}"));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    let sessions = SessionStore::in_memory();
    let session_token = runtime
        .block_on(sessions.create(user()))
        .unwrap_or_else(|err| panic!("{err}"))
        .into_token();
    // Other sessions in the store, so the lookup is not into an empty map.
    for i in 0..10_000 {
        let _ = runtime.block_on(sessions.create(User::new(format!("u{i}"), "x")));
    }

    let actor = AuthenticatedUser::new(user());

    let mut group = c.benchmark_group("auth");
    group.measurement_time(Duration::from_secs(4));

    group.bench_function("validators_only", |b| {
        b.iter(|| check_actor(black_box(&actor), &[&authenticated, &may_write]))
    });
    group.bench_function("jwt_hs256_verify_plus_validators", |b| {
        b.iter(|| {
            let actor = hs
                .verify_sync(black_box(&hs_token))
                .unwrap_or_else(|err| panic!("{err}"));
            check_actor(&actor, &[&authenticated, &may_write])
        })
    });
    group.bench_function("jwt_es256_verify_plus_validators", |b| {
        b.iter(|| {
            let actor = es
                .verify_sync(black_box(&es_token))
                .unwrap_or_else(|err| panic!("{err}"));
            check_actor(&actor, &[&authenticated, &may_write])
        })
    });
    group.bench_function("jwt_rs256_verify_plus_validators", |b| {
        b.iter(|| {
            let actor = rs
                .verify_sync(black_box(&rs_token))
                .unwrap_or_else(|err| panic!("{err}"));
            check_actor(&actor, &[&authenticated, &may_write])
        })
    });
    group.bench_function("session_verify_plus_validators", |b| {
        b.to_async(&runtime).iter(|| async {
            let actor = sessions
                .verify(black_box(&session_token))
                .await
                .unwrap_or_else(|err| panic!("{err}"));
            check_actor(&actor, &[&authenticated, &may_write])
        })
    });
    group.bench_function("jwt_hs256_refuse_tampered", |b| {
        let mut tampered = hs_token.clone();
        tampered.pop();
        tampered.push('A');
        b.iter(|| hs.verify_sync(black_box(&tampered)).is_err())
    });
    group.finish();
}

mod group {
    #![allow(missing_docs, unreachable_pub)]
    criterion::criterion_group!(benches, super::bench_auth);
}
criterion_main!(group::benches);
