//! Claim validators, `require_*_with_claims`, user actors (an authenticated WebSocket
//! connection included) and every AuthError's status, code and body.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use flame_actor::{Actor, ActorScope, BackendActor, CurrentActor, WebSocketActor, actor_scope};
use flame_auth::{
    ActorClaimValidator, AuthError, AuthenticatedUser, CurrentUser, TokenRejection, User,
    UserActor, WebSocketUserExt, as_user_actor, check_actor, has_permission, is_actor_of_type,
    is_admin, is_authenticated, is_backend, is_not_websocket, is_unauthenticated, is_websocket,
    of_type, register_user_actor, require_actor_with_claims, require_user_actor_with_claims,
    user_of, verify_actor_claims,
};
use http::StatusCode;

fn ada() -> User {
    User::new("u1", "ada").with_permission("posts:write")
}

fn root() -> User {
    User::new("u0", "root").with_permission("admin")
}

fn backend() -> Arc<dyn Actor> {
    Arc::new(BackendActor::new("scheduler"))
}

fn anonymous_ws() -> Arc<dyn Actor> {
    Arc::new(WebSocketActor::builder("c1").build())
}

fn ada_ws() -> Arc<dyn Actor> {
    Arc::new(
        WebSocketActor::builder("c1")
            .build()
            .authenticated(AuthenticatedUser::new(ada())),
    )
}

fn ada_user() -> Arc<dyn Actor> {
    Arc::new(AuthenticatedUser::new(ada()))
}

fn root_user() -> Arc<dyn Actor> {
    Arc::new(AuthenticatedUser::new(root()))
}

fn expired_user() -> Arc<dyn Actor> {
    Arc::new(AuthenticatedUser::new(ada()).expiring_at(SystemTime::now() - Duration::from_secs(1)))
}

/// A custom user actor, registered.
#[derive(Debug)]
struct ApiToken {
    owner: User,
}
impl Actor for ApiToken {
    fn actor_type(&self) -> &str {
        "api_token"
    }
}
impl UserActor for ApiToken {
    fn user(&self) -> &User {
        &self.owner
    }
}

/// A custom user actor nobody registered.
#[derive(Debug)]
struct Unregistered {
    owner: User,
}
impl Actor for Unregistered {
    fn actor_type(&self) -> &str {
        "unregistered"
    }
}
impl UserActor for Unregistered {
    fn user(&self) -> &User {
        &self.owner
    }
}

fn check(validator: &dyn ActorClaimValidator, actor: &Arc<dyn Actor>) -> Result<(), AuthError> {
    validator.validate(&**actor)
}

#[test]
fn is_authenticated_accepts_user_actors_only() {
    let v = is_authenticated();
    assert_eq!(check(&v, &ada_user()), Ok(()));
    assert_eq!(check(&v, &ada_ws()), Ok(()));
    assert_eq!(check(&v, &backend()), Err(AuthError::NotAuthenticated));
    assert_eq!(check(&v, &anonymous_ws()), Err(AuthError::NotAuthenticated));
    assert_eq!(
        check(&v, &expired_user()),
        Err(AuthError::InvalidToken(TokenRejection::Expired))
    );
}

#[test]
fn a_websocket_authenticated_with_an_expired_token_is_refused() {
    let conn = WebSocketActor::builder("c9").build().authenticated(
        AuthenticatedUser::new(ada()).expiring_at(SystemTime::now() - Duration::from_secs(5)),
    );
    let conn: Arc<dyn Actor> = Arc::new(conn);
    assert_eq!(
        check(&is_authenticated(), &conn),
        Err(AuthError::InvalidToken(TokenRejection::Expired))
    );
    assert!(check(&has_permission("posts:write"), &conn).is_err());
}

#[test]
fn is_unauthenticated_refuses_user_actors() {
    let v = is_unauthenticated();
    assert_eq!(check(&v, &backend()), Ok(()));
    assert_eq!(check(&v, &anonymous_ws()), Ok(()));
    assert_eq!(check(&v, &ada_user()), Err(AuthError::AlreadyAuthenticated));
    assert_eq!(check(&v, &ada_ws()), Err(AuthError::AlreadyAuthenticated));
}

#[test]
fn has_permission_and_is_admin() {
    assert_eq!(check(&has_permission("posts:write"), &ada_user()), Ok(()));
    assert_eq!(check(&has_permission("posts:write"), &ada_ws()), Ok(()));
    assert_eq!(
        check(&has_permission(String::from("posts:delete")), &ada_user()),
        Err(AuthError::NoPermission {
            permission: "posts:delete".into()
        })
    );
    assert_eq!(
        check(&has_permission("posts:write"), &backend()),
        Err(AuthError::NotAuthenticated)
    );
    assert_eq!(check(&is_admin(), &root_user()), Ok(()));
    assert_eq!(
        check(&is_admin(), &ada_user()),
        Err(AuthError::NoPermission {
            permission: "admin".into()
        })
    );
    assert_eq!(
        check(&is_admin(), &anonymous_ws()),
        Err(AuthError::NotAuthenticated)
    );
    // admin does not imply other permissions.
    assert!(check(&has_permission("posts:write"), &root_user()).is_err());
}

#[test]
fn type_validators() {
    assert_eq!(check(&of_type::<BackendActor>(), &backend()), Ok(()));
    let err = check(&of_type::<AuthenticatedUser>(), &backend()).unwrap_err();
    assert_eq!(
        err,
        AuthError::InvalidActorType {
            expected: "flame_auth::user_actor::AuthenticatedUser".into(),
            actual: "flame_actor::identity::backend::BackendActor",
            actual_type: "backend".into(),
        }
    );

    assert_eq!(check(&is_actor_of_type("user"), &ada_user()), Ok(()));
    assert_eq!(check(&is_actor_of_type("websocket"), &ada_ws()), Ok(()));
    assert!(matches!(
        check(&is_actor_of_type("user"), &ada_ws()),
        Err(AuthError::InvalidActorType { ref actual_type, .. }) if actual_type == "websocket"
    ));

    assert_eq!(check(&is_backend(), &backend()), Ok(()));
    assert!(check(&is_backend(), &ada_user()).is_err());
    assert!(check(&is_backend(), &anonymous_ws()).is_err());

    assert_eq!(check(&is_websocket(), &anonymous_ws()), Ok(()));
    assert_eq!(
        check(&is_websocket(), &ada_ws()),
        Ok(()),
        "an authenticated connection is still a WebSocket"
    );
    assert!(check(&is_websocket(), &ada_user()).is_err());
    assert!(check(&is_websocket(), &backend()).is_err());

    assert_eq!(check(&is_not_websocket(), &backend()), Ok(()));
    assert_eq!(check(&is_not_websocket(), &ada_user()), Ok(()));
    assert!(check(&is_not_websocket(), &ada_ws()).is_err());
}

#[test]
fn closures_are_validators() {
    let only_ws_c1 = |actor: &dyn Actor| -> Result<(), AuthError> {
        if actor.actor_id().as_deref() == Some("c1") {
            Ok(())
        } else {
            Err(AuthError::forbidden("only connection c1"))
        }
    };
    assert_eq!(check(&only_ws_c1, &anonymous_ws()), Ok(()));
    let err = check(&only_ws_c1, &backend()).unwrap_err();
    assert_eq!(err.status(), StatusCode::FORBIDDEN);
    assert_eq!(err.to_json()["error"]["message"], "only connection c1");
}

#[test]
fn validators_run_in_order_and_stop_at_the_first_refusal() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counting = {
        let calls = calls.clone();
        move |_: &dyn Actor| -> Result<(), AuthError> {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    };
    assert_eq!(
        check_actor(
            &*ada_user(),
            &[
                &counting,
                &is_authenticated(),
                &counting,
                &is_admin(),
                &counting
            ]
        ),
        Err(AuthError::NoPermission {
            permission: "admin".into()
        })
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(check_actor(&*ada_user(), &[]), Ok(()));
}

#[test]
fn require_actor_with_claims_validates_then_downcasts() {
    let user: Arc<AuthenticatedUser> = require_actor_with_claims(
        &ada_user(),
        &[&is_authenticated(), &has_permission("posts:write")],
    )
    .unwrap();
    assert_eq!(user.user().username, "ada");

    // Validators first: a backend asked for a user with is_authenticated gets 401, not a
    // type error.
    assert_eq!(
        require_actor_with_claims::<AuthenticatedUser>(&backend(), &[&is_authenticated()])
            .unwrap_err(),
        AuthError::NotAuthenticated
    );
    // All validators pass, the type does not.
    let err = require_actor_with_claims::<AuthenticatedUser>(&ada_ws(), &[&is_authenticated()])
        .unwrap_err();
    assert_eq!(err.code(), "invalid_actor_type");
    // The WebSocket actor itself, authenticated.
    let conn: Arc<WebSocketActor> =
        require_actor_with_claims(&ada_ws(), &[&is_websocket(), &is_authenticated()]).unwrap();
    assert_eq!(conn.user().map(|u| u.id.as_str()), Some("u1"));
}

#[test]
fn require_user_actor_with_claims_accepts_every_kind_of_user_actor() {
    let from_user = require_user_actor_with_claims(&ada_user(), &[&is_authenticated()]).unwrap();
    assert_eq!(from_user.user().id, "u1");
    assert_eq!(from_user.actor().actor_type(), "user");

    let from_ws =
        require_user_actor_with_claims(&ada_ws(), &[&has_permission("posts:write")]).unwrap();
    assert_eq!(from_ws.username, "ada", "Deref to User");
    assert_eq!(
        from_ws.actor().actor_type(),
        "websocket",
        "the acting actor is the connection"
    );
    assert_eq!(from_ws.user_actor().actor_type(), "user");

    assert_eq!(
        require_user_actor_with_claims(&anonymous_ws(), &[]).unwrap_err(),
        AuthError::NoUserActor {
            actual_type: "websocket".into()
        }
    );
    assert_eq!(
        require_user_actor_with_claims(&backend(), &[])
            .unwrap_err()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn custom_user_actors_count_once_registered() {
    let token: Arc<dyn Actor> = Arc::new(ApiToken {
        owner: User::new("u7", "ci-bot").with_permission("deploy"),
    });
    let unregistered: Arc<dyn Actor> = Arc::new(Unregistered {
        owner: User::new("u8", "ghost"),
    });
    register_user_actor::<ApiToken>();
    register_user_actor::<ApiToken>(); // idempotent

    assert_eq!(user_of(&*token).map(|u| u.id.as_str()), Some("u7"));
    assert_eq!(check(&has_permission("deploy"), &token), Ok(()));
    let current = require_user_actor_with_claims(&token, &[&is_authenticated()]).unwrap();
    assert_eq!(current.actor().actor_type(), "api_token");
    assert_eq!(current.user_actor().actor_type(), "api_token");

    assert!(as_user_actor(&*unregistered).is_none());
    assert_eq!(
        check(&is_authenticated(), &unregistered),
        Err(AuthError::NotAuthenticated)
    );
}

#[test]
fn websocket_sign_in_and_sign_out_are_new_snapshots() {
    let anonymous = WebSocketActor::builder("c5")
        .metadata("client", "web")
        .build();
    let signed_in = anonymous.authenticated(AuthenticatedUser::new(ada()));
    assert!(anonymous.user().is_none(), "the old snapshot is untouched");
    assert_eq!(signed_in.user().map(|u| u.username.as_str()), Some("ada"));
    assert_eq!(signed_in.connection_id(), "c5");
    assert_eq!(signed_in.metadata("client"), Some("web"));

    let switched = signed_in.authenticated(AuthenticatedUser::new(root()));
    assert_eq!(switched.user().map(|u| u.id.as_str()), Some("u0"));

    let signed_out = switched.signed_out();
    assert!(signed_out.user().is_none());
    assert!(as_user_actor(&signed_out).is_none());
    assert_eq!(signed_out.connection_id(), "c5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_from_the_task_local_scope_and_other_contexts() {
    // Outside any scope: the backend.
    assert!(verify_actor_claims(&ActorScope, &[&is_backend()]).is_ok());
    assert_eq!(
        require_user_actor_with_claims(&ActorScope, &[&is_authenticated()]).unwrap_err(),
        AuthError::NotAuthenticated
    );

    let result = actor_scope(ada_ws(), async {
        tokio::task::yield_now().await;
        let spawned = flame_actor::identity::spawn_with_current_actor(async {
            require_user_actor_with_claims(
                &ActorScope,
                &[&is_websocket(), &has_permission("posts:write")],
            )
            .map(|current| current.user().id.clone())
        });
        spawned.await.unwrap()
    })
    .await;
    assert_eq!(result.as_deref(), Ok("u1"));

    let current = CurrentActor(root_user());
    assert!(verify_actor_claims(&current, &[&is_admin()]).is_ok());
    let from_handle = CurrentUser::from_actor(root_user()).unwrap();
    assert!(from_handle.is_admin());
}

#[test]
fn every_error_has_status_code_and_body() {
    let cases: Vec<(AuthError, StatusCode, &str)> = vec![
        (
            AuthError::NotAuthenticated,
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
        ),
        (
            AuthError::AlreadyAuthenticated,
            StatusCode::FORBIDDEN,
            "already_authenticated",
        ),
        (
            AuthError::NoPermission {
                permission: "x".into(),
            },
            StatusCode::FORBIDDEN,
            "no_permission",
        ),
        (
            AuthError::InvalidActorType {
                expected: "user".into(),
                actual: "flame_actor::identity::backend::BackendActor",
                actual_type: "backend".into(),
            },
            StatusCode::FORBIDDEN,
            "invalid_actor_type",
        ),
        (
            AuthError::NoUserActor {
                actual_type: "backend".into(),
            },
            StatusCode::UNAUTHORIZED,
            "no_user_actor",
        ),
        (
            AuthError::InvalidToken(TokenRejection::BadSignature),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        (
            AuthError::InvalidToken(TokenRejection::Expired),
            StatusCode::UNAUTHORIZED,
            "token_expired",
        ),
        (
            AuthError::InvalidCredentials,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        ),
        (
            AuthError::InvalidInput("too long".into()),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            AuthError::forbidden("nope"),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            AuthError::Configuration("weak secret".into()),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
        ),
        (
            AuthError::Internal("store down".into()),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
        ),
    ];
    for (err, status, code) in cases {
        assert_eq!(err.status(), status, "{err:?}");
        assert_eq!(err.code(), code, "{err:?}");
        let body = err.to_json();
        assert_eq!(body["error"]["code"], code);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(!message.is_empty());
        // Internals stay in the logs.
        for secret in ["weak secret", "store down", "flame_actor::", "BadSignature"] {
            assert!(!message.contains(secret), "{code}: {message}");
        }
        assert_eq!(
            err.www_authenticate().is_some(),
            status == StatusCode::UNAUTHORIZED,
            "{err:?}"
        );
        assert!(!err.to_string().is_empty());
    }
    // Every token rejection reads as the same public message, except expiry.
    for rejection in [
        TokenRejection::TooLarge {
            len: 9000,
            max: 8192,
        },
        TokenRejection::Malformed,
        TokenRejection::UnsupportedAlgorithm,
        TokenRejection::BadSignature,
        TokenRejection::NotYetValid,
        TokenRejection::WrongIssuer,
        TokenRejection::WrongAudience,
        TokenRejection::MissingClaim("sub".into()),
        TokenRejection::Revoked,
        TokenRejection::Unknown,
    ] {
        let err = AuthError::InvalidToken(rejection.clone());
        assert_eq!(err.public_message(), "the token is invalid");
        assert!(err.to_string().contains(&rejection.to_string()));
    }
}

#[test]
fn actor_errors_convert_to_invalid_actor_type() {
    let err = flame_actor::require_actor::<WebSocketActor>(&backend()).unwrap_err();
    let auth: AuthError = err.into();
    assert_eq!(auth.code(), "invalid_actor_type");
    assert_eq!(auth.public_message(), "not allowed for a \"backend\" actor");
}

#[test]
fn user_helpers() {
    let user = User::new("u1", "ada")
        .with_permissions(["a", "b"])
        .with_claim("tenant", 3);
    assert!(user.has_permission("a") && user.has_permission("b") && !user.has_permission("c"));
    assert!(!user.is_admin());
    let json = serde_json::to_value(&user).unwrap();
    assert_eq!(json["permissions"], serde_json::json!(["a", "b"]));
    assert_eq!(serde_json::from_value::<User>(json).unwrap(), user);
}
