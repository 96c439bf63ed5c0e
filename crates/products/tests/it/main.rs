//! Products against the in-process Okta simulator, on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set (`.ci/run` does both).

mod evidence;
mod inventory;
mod requests;
mod sync;
