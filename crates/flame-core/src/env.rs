//! The running environment: development, production or test.
//!
//! Middleware and handlers adapt to it: [`Recovery`](crate::Recovery) shows the panic and its
//! backtrace in development and only `Internal Server Error` in production; `run()` refuses to
//! start on a failed startup check in test. It is read once from `FLAME_ENV` and can be changed
//! at any time with [`set_env`]; both are safe from any thread.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable that selects the [`Env`] at start.
pub const ENV_VAR: &str = "FLAME_ENV";

/// The running environment.
///
/// ```
/// use flame_core::Env;
///
/// assert_eq!("production".parse::<Env>(), Ok(Env::Production));
/// assert_eq!(Env::Test.to_string(), "test");
/// assert!("staging".parse::<Env>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Env {
    /// Local development: verbose errors, warnings instead of refusals. The default.
    #[default]
    Development,
    /// Production: terse errors to clients.
    Production,
    /// Automated tests: strict startup checks.
    Test,
}

impl Env {
    /// The name used in `FLAME_ENV`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Env::Development => "development",
            Env::Production => "production",
            Env::Test => "test",
        }
    }

    const fn to_u8(self) -> u8 {
        match self {
            Env::Development => 0,
            Env::Production => 1,
            Env::Test => 2,
        }
    }

    const fn from_u8(value: u8) -> Self {
        match value {
            1 => Env::Production,
            2 => Env::Test,
            _ => Env::Development,
        }
    }
}

impl fmt::Display for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `FLAME_ENV` held a value that is not an environment name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown environment {0:?}: expected development, production or test")]
pub struct UnknownEnv(pub String);

impl FromStr for Env {
    type Err = UnknownEnv;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" | "" => Ok(Env::Development),
            "production" | "prod" => Ok(Env::Production),
            "test" => Ok(Env::Test),
            _ => Err(UnknownEnv(s.to_owned())),
        }
    }
}

fn cell() -> &'static AtomicU8 {
    static CELL: OnceLock<AtomicU8> = OnceLock::new();
    CELL.get_or_init(|| {
        let env = match std::env::var(ENV_VAR) {
            Ok(value) => value.parse().unwrap_or_else(|err: UnknownEnv| {
                tracing::warn!(%err, "falling back to development");
                Env::Development
            }),
            Err(_) => Env::Development,
        };
        AtomicU8::new(env.to_u8())
    })
}

/// The current environment: `FLAME_ENV` at first use, or the last [`set_env`].
///
/// ```
/// flame_core::set_env(flame_core::Env::Production);
/// assert_eq!(flame_core::env(), flame_core::Env::Production);
/// ```
pub fn env() -> Env {
    Env::from_u8(cell().load(Ordering::Relaxed))
}

/// Changes the current environment for the whole process.
pub fn set_env(env: Env) {
    cell().store(env.to_u8(), Ordering::Relaxed);
}
