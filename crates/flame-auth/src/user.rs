//! [`User`]: who signed in, and what they may do.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The permission that [`User::is_admin`] checks.
pub const ADMIN_PERMISSION: &str = "admin";

/// A signed-in user: an id, a user name, permissions, and any further claims (an email,
/// a tenant) as JSON.
///
/// Permissions are exact strings; `admin` does not imply the others; grant what a route
/// needs, or check [`User::is_admin`] explicitly.
///
/// ```
/// use flame_auth::User;
///
/// let ada = User::new("u1", "ada")
///     .with_permission("posts:write")
///     .with_claim("email", "ada@example.com");
/// assert!(ada.has_permission("posts:write"));
/// assert!(!ada.has_permission("posts:delete"));
/// assert!(!ada.is_admin());
/// assert_eq!(ada.claims["email"], "ada@example.com");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// A stable identifier (a JWT's `sub`).
    pub id: String,
    /// The name the user signs in with.
    pub username: String,
    /// What the user may do.
    #[serde(default)]
    pub permissions: BTreeSet<String>,
    /// Further claims about the user.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl User {
    /// A user without permissions or claims.
    ///
    /// ```
    /// use flame_auth::User;
    ///
    /// let user = User::new("u1", "ada");
    /// assert_eq!((user.id.as_str(), user.username.as_str()), ("u1", "ada"));
    /// assert!(user.permissions.is_empty());
    /// ```
    pub fn new(id: impl Into<String>, username: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            username: username.into(),
            ..Self::default()
        }
    }

    /// Grants one permission.
    ///
    /// ```
    /// use flame_auth::User;
    ///
    /// assert!(User::new("u1", "ada").with_permission("admin").is_admin());
    /// ```
    pub fn with_permission(mut self, permission: impl Into<String>) -> Self {
        self.permissions.insert(permission.into());
        self
    }

    /// Grants several permissions.
    ///
    /// ```
    /// use flame_auth::User;
    ///
    /// let user = User::new("u1", "ada").with_permissions(["a", "b"]);
    /// assert!(user.has_permission("a") && user.has_permission("b"));
    /// ```
    pub fn with_permissions<I>(mut self, permissions: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.permissions
            .extend(permissions.into_iter().map(Into::into));
        self
    }

    /// Adds one claim, replacing an earlier one with the same name.
    ///
    /// ```
    /// use flame_auth::User;
    ///
    /// let user = User::new("u1", "ada").with_claim("tenant", 7);
    /// assert_eq!(user.claims["tenant"], 7);
    /// ```
    pub fn with_claim(
        mut self,
        name: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// Whether the user holds `permission` (exactly).
    ///
    /// ```
    /// use flame_auth::User;
    ///
    /// let user = User::new("u1", "ada").with_permission("posts:write");
    /// assert!(user.has_permission("posts:write"));
    /// assert!(!user.has_permission("posts"));
    /// ```
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.contains(permission)
    }

    /// Whether the user holds the [`ADMIN_PERMISSION`].
    ///
    /// ```
    /// use flame_auth::{User, ADMIN_PERMISSION};
    ///
    /// assert!(User::new("u1", "root").with_permission(ADMIN_PERMISSION).is_admin());
    /// assert!(!User::new("u2", "ada").is_admin());
    /// ```
    pub fn is_admin(&self) -> bool {
        self.has_permission(ADMIN_PERMISSION)
    }
}
