//! Server users (name, role, argon2id password hash) and their login sessions.
//!
//! The store never sees a password or a session id: callers pass the PHC hash string and
//! the SHA-256 of the session id, so neither a dump nor a log line can be replayed.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::is_unique_violation;
use crate::{Store, StoreError, in_tx, with_pool};

/// A server user; the password hash stays inside the store except for [`Store::password_hash`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    /// `admin` or `viewer`.
    pub role: String,
    pub created_at: DateTime<Utc>,
}

type UserRow = (i64, String, String, DateTime<Utc>);

fn user((id, name, role, created_at): UserRow) -> User {
    User {
        id,
        name,
        role,
        created_at,
    }
}

/// A live session, as found by the hash of its id.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Create a user. `NameTaken` when the name is in use.
    pub async fn create_user(
        &self,
        name: &str,
        role: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        const SQL: &str = "INSERT INTO users (name, role, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id, name, role, created_at";
        let row = with_pool!(self, |pool| sqlx::query_as::<_, UserRow>(SQL)
            .bind(name)
            .bind(role)
            .bind(password_hash)
            .bind(now)
            .fetch_one(pool)
            .await);
        match row {
            Ok(r) => Ok(user(r)),
            Err(e) if is_unique_violation(&e) => Err(StoreError::NameTaken {
                name: name.to_string(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        const SQL: &str = "SELECT id, name, role, created_at FROM users ORDER BY name";
        let rows = with_pool!(self, |pool| sqlx::query_as::<_, UserRow>(SQL)
            .fetch_all(pool)
            .await?);
        Ok(rows.into_iter().map(user).collect())
    }

    /// How many users exist (first run creates an admin when there are none).
    pub async fn user_count(&self) -> Result<u64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM users";
        let n = with_pool!(self, |pool| sqlx::query_scalar::<_, i64>(SQL)
            .fetch_one(pool)
            .await?);
        Ok(crate::to_u64(n))
    }

    /// A user and their password hash, for checking a login.
    pub async fn password_hash(&self, name: &str) -> Result<Option<(User, String)>, StoreError> {
        const SQL: &str =
            "SELECT id, name, role, created_at, password_hash FROM users WHERE name = $1";
        let row = with_pool!(self, |pool| sqlx::query_as::<
            _,
            (i64, String, String, DateTime<Utc>, String),
        >(SQL)
        .bind(name)
        .fetch_optional(pool)
        .await?);
        Ok(
            row.map(|(id, name, role, created_at, hash)| {
                (user((id, name, role, created_at)), hash)
            }),
        )
    }

    /// Replace a user's password hash and end their sessions (a changed password must log
    /// every other browser out).
    pub async fn set_password_hash(
        &self,
        name: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const UPDATE: &str =
            "UPDATE users SET password_hash = $1, updated_at = $2 WHERE name = $3 RETURNING id";
        const SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
        in_tx!(self, |tx| {
            let id = sqlx::query_scalar::<_, i64>(UPDATE)
                .bind(password_hash)
                .bind(now)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::not_found(format!("user {name:?}")))?;
            sqlx::query(SESSIONS).bind(id).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Remove a user (their sessions go with them).
    pub async fn remove_user(&self, name: &str) -> Result<(), StoreError> {
        const USER: &str = "SELECT id FROM users WHERE name = $1";
        const SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
        const DELETE: &str = "DELETE FROM users WHERE id = $1";
        in_tx!(self, |tx| {
            let id = sqlx::query_scalar::<_, i64>(USER)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::not_found(format!("user {name:?}")))?;
            sqlx::query(SESSIONS).bind(id).execute(&mut *tx).await?;
            sqlx::query(DELETE).bind(id).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Record a new session by the SHA-256 (hex) of its id.
    pub async fn create_session(
        &self,
        id_hash: &str,
        user_id: i64,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)";
        with_pool!(self, |pool| {
            sqlx::query(SQL)
                .bind(id_hash)
                .bind(user_id)
                .bind(csrf_token)
                .bind(now)
                .bind(expires_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The session with this id hash, when it has not expired at `now`.
    pub async fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        const SQL: &str = "SELECT u.id, u.name, u.role, u.created_at, s.csrf_token, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2";
        type Row = (i64, String, String, DateTime<Utc>, String, DateTime<Utc>);
        let row = with_pool!(self, |pool| sqlx::query_as::<_, Row>(SQL)
            .bind(id_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?);
        Ok(row.map(
            |(id, name, role, created_at, csrf_token, expires_at)| Session {
                user: user((id, name, role, created_at)),
                csrf_token,
                expires_at,
            },
        ))
    }

    /// End one session (logout) and purge expired ones while at it.
    pub async fn delete_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const ONE: &str = "DELETE FROM sessions WHERE id_hash = $1";
        const EXPIRED: &str = "DELETE FROM sessions WHERE expires_at <= $1";
        with_pool!(self, |pool| {
            sqlx::query(ONE).bind(id_hash).execute(pool).await?;
            sqlx::query(EXPIRED).bind(now).execute(pool).await?;
        });
        Ok(())
    }
}
