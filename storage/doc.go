// Package storage holds the gorm models, numbered migrations and
// repositories of the bridge, on SQLite by default and PostgreSQL for
// operators. No *gorm.DB leaves this package: repositories take and return
// the plain value types declared here, converted at the boundary from
// private row models.
//
// # Databases
//
// [Open] takes one setting: a postgres:// or postgresql:// URL, or a libpq
// "host=..." string, selects PostgreSQL; anything else is the path of a
// SQLite file (WAL journal, busy timeout, foreign keys on). Migrations are
// numbered and recorded in the schema_versions table; AutoMigrate inside a
// migration only adds, so drops and renames are explicit later steps.
//
// # Ids
//
// Every message, welcome, identity update and commit-log entry gets its id
// from a per-table counter that only increases (AUTOINCREMENT on SQLite,
// bigserial on PostgreSQL). Ids are never reused or changed, and survive a
// restart. Writes that belong together (an identity update and its address
// index rows; a key package and its history; one request's batch of
// messages) share a transaction.
//
// # Imports
//
// storage may use the ID and value types of mls, wire, identity and
// policy, plus gorm and its drivers. It must not import node, client or
// anything above them (STYLE.md §1).
package storage
