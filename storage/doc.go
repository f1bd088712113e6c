// Package storage holds the gorm models, numbered migrations and
// repositories of the bridge, on SQLite by default and PostgreSQL for
// operators. No *gorm.DB leaves this package.
package storage
