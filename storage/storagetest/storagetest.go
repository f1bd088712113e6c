// Package storagetest gives tests a fresh database: a SQLite file in
// t.TempDir() by default, or, when MLSBRIDGE_TEST_POSTGRES names a
// PostgreSQL server (an admin DSN such as
// "host=127.0.0.1 port=5432 user=postgres dbname=postgres"), a new
// database on it that is dropped when the test ends. It is for tests only.
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// EnvPostgres names the environment variable holding the admin DSN.
const EnvPostgres = "MLSBRIDGE_TEST_POSTGRES"

// Postgres reports whether tests run against PostgreSQL.
func Postgres() bool { return os.Getenv(EnvPostgres) != "" }

// Database returns the setting of a new, empty database for t (see the
// package doc). Opening it twice opens the same database, so restart tests
// work on both engines.
func Database(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		return filepath.Join(t.TempDir(), "node.db")
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "mlsbridge_test_" + hex.EncodeToString(b[:])
	db, err := gorm.Open(postgres.Open(admin), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("storagetest: connect to %s: %v", EnvPostgres, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.WithContext(context.Background()).Exec("CREATE DATABASE " + name).Error; err != nil {
		_ = sqlDB.Close()
		t.Fatalf("storagetest: create database: %v", err)
	}
	t.Cleanup(func() {
		_ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error
		_ = sqlDB.Close()
	})
	dsn, err := withDatabase(admin, name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// withDatabase returns the DSN admin with its database replaced by name.
func withDatabase(admin, name string) (string, error) {
	if strings.HasPrefix(admin, "postgres://") || strings.HasPrefix(admin, "postgresql://") {
		u, err := url.Parse(admin)
		if err != nil {
			return "", fmt.Errorf("storagetest: parse %s: %w", EnvPostgres, err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	var kept []string
	for _, f := range strings.Fields(admin) {
		if !strings.HasPrefix(f, "dbname=") {
			kept = append(kept, f)
		}
	}
	return strings.Join(append(kept, "dbname="+name), " "), nil
}
