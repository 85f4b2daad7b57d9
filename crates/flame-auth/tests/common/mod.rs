//! Helpers shared by the flame-auth integration tests: hand-made JWTs and test keys.
#![allow(dead_code, unreachable_pub)]

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

pub const SECRET: &[u8] = b"flame-auth test secret, 32 bytes or more";
pub const ISSUER: &str = "https://id.flame.test";
pub const AUDIENCE: &str = "flame-api";

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// HMAC-SHA256 (RFC 2104), written out so the tests do not trust the code under test.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0_u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// `header.payload` in base64url, from raw JSON text.
pub fn signing_input(header: &str, payload: &str) -> String {
    format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()))
}

/// A JWT built by hand: the given header and payload JSON, signed with HMAC-SHA256 and `key`.
pub fn hs256_token_with_header(header: &str, payload: &serde_json::Value, key: &[u8]) -> String {
    let input = signing_input(header, &payload.to_string());
    let signature = hmac_sha256(key, input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

pub fn hs256_token(payload: &serde_json::Value) -> String {
    hs256_token_with_header(r#"{"alg":"HS256","typ":"JWT"}"#, payload, SECRET)
}

/// Claims of a valid token for user u1 (ada), for the configured issuer and audience.
pub fn valid_claims() -> serde_json::Value {
    let now = now();
    serde_json::json!({
        "sub": "u1",
        "username": "ada",
        "permissions": ["posts:write"],
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "email": "ada@example.com",
    })
}

pub fn with(
    mut claims: serde_json::Value,
    key: &str,
    value: serde_json::Value,
) -> serde_json::Value {
    claims[key] = value;
    claims
}

pub fn without(mut claims: serde_json::Value, key: &str) -> serde_json::Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

pub fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}
