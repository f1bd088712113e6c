package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// ErrInternal is wrapped when an invariant of the stored data is broken (a
// bug or a damaged database), never for bad input.
var ErrInternal = errors.New("storage: internal error")

// Dialect names the database engine behind a [DB].
type Dialect string

// The supported engines.
const (
	DialectSQLite   Dialect = "sqlite"
	DialectPostgres Dialect = "postgres"
)

// IsPostgresDSN reports whether setting names a PostgreSQL database: a URL
// with the postgres:// or postgresql:// scheme, or a libpq keyword/value
// string starting with host=. Anything else is a SQLite file path.
func IsPostgresDSN(setting string) bool {
	s := strings.TrimSpace(setting)
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") ||
		strings.HasPrefix(s, "host=")
}

// Options are the optional parameters of [Open]. The zero value is usable.
type Options struct {
	// Logger receives database lifecycle messages (Info) and slow or
	// failed statements (Warn). Nil discards them. Statement arguments are
	// never logged.
	Logger *slog.Logger
	// BusyTimeout is how long a SQLite connection waits for a lock before
	// failing with SQLITE_BUSY. Zero means 10 s. Ignored for PostgreSQL.
	BusyTimeout time.Duration
}

// DB is an open database with every migration applied. It is safe for
// concurrent use. Its repositories are the methods defined in the files
// named after each aggregate (group messages, welcomes, key packages,
// identity updates, commit log).
type DB struct {
	gdb     *gorm.DB
	dialect Dialect
	log     *slog.Logger
}

// Open opens the database that setting names (see [IsPostgresDSN]; a SQLite
// file is created if missing), applies every pending migration and returns
// it. SQLite runs in WAL mode with a busy timeout and foreign keys on. Open
// refuses a database whose schema is newer than this binary knows.
func Open(ctx context.Context, setting string, opts *Options) (*DB, error) {
	if opts == nil {
		opts = &Options{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if strings.TrimSpace(setting) == "" {
		return nil, errors.New("storage: open: empty database setting")
	}
	d := &DB{log: log}
	var dialector gorm.Dialector
	if IsPostgresDSN(setting) {
		d.dialect = DialectPostgres
		dialector = postgres.Open(setting)
	} else {
		d.dialect = DialectSQLite
		busy := opts.BusyTimeout
		if busy <= 0 {
			busy = 10 * time.Second
		}
		dialector = sqlite.Open(sqliteDSN(setting, busy))
	}
	gdb, err := gorm.Open(dialector, &gorm.Config{
		SkipDefaultTransaction: true,
		Logger:                 newGormLogger(log),
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("storage: open %s database: %w", d.dialect, err)
	}
	d.gdb = gdb
	if d.dialect == DialectSQLite {
		if err := d.checkSQLitePragmas(ctx); err != nil {
			_ = d.Close()
			return nil, err
		}
	}
	if err := d.migrate(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	log.Info("database open", "dialect", string(d.dialect))
	return d, nil
}

// sqliteDSN turns a file path (or a file: URI) into a go-sqlite3 DSN with
// WAL, the busy timeout, foreign keys and IMMEDIATE write transactions, so
// that two writers queue on the busy timeout instead of failing to upgrade
// a read lock.
func sqliteDSN(path string, busy time.Duration) string {
	base := path
	if !strings.HasPrefix(base, "file:") {
		base = "file:" + (&url.URL{Path: path}).EscapedPath()
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return fmt.Sprintf("%s%s_journal_mode=WAL&_busy_timeout=%d&_foreign_keys=on&_txlock=immediate&_synchronous=NORMAL",
		base, sep, busy.Milliseconds())
}

// checkSQLitePragmas verifies that the DSN options took effect.
func (d *DB) checkSQLitePragmas(ctx context.Context) error {
	var mode string
	if err := d.gdb.WithContext(ctx).Raw("PRAGMA journal_mode").Scan(&mode).Error; err != nil {
		return fmt.Errorf("storage: read sqlite journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") && !strings.EqualFold(mode, "memory") {
		return fmt.Errorf("storage: sqlite journal mode is %q, want wal", mode)
	}
	var fk int
	if err := d.gdb.WithContext(ctx).Raw("PRAGMA foreign_keys").Scan(&fk).Error; err != nil {
		return fmt.Errorf("storage: read sqlite foreign_keys: %w", err)
	}
	if fk != 1 {
		return errors.New("storage: sqlite foreign keys are off")
	}
	return nil
}

// Dialect returns the engine behind d.
func (d *DB) Dialect() Dialect { return d.dialect }

// Close closes the database. Calls after the first return nil.
func (d *DB) Close() error {
	if d == nil || d.gdb == nil {
		return nil
	}
	sqlDB, err := d.gdb.DB()
	if err != nil {
		return fmt.Errorf("storage: close: %w", err)
	}
	d.gdb = nil
	if err := sqlDB.Close(); err != nil {
		return fmt.Errorf("storage: close: %w", err)
	}
	d.log.Info("database closed", "dialect", string(d.dialect))
	return nil
}

// gormLogger adapts gorm's logger to slog: errors other than "record not
// found" and slow statements at Warn, never the SQL arguments.
type gormLogger struct {
	log  *slog.Logger
	slow time.Duration
}

func newGormLogger(log *slog.Logger) logger.Interface {
	return &gormLogger{log: log.With("component", "gorm"), slow: time.Second}
}

func (l *gormLogger) LogMode(logger.LogLevel) logger.Interface { return l }

func (l *gormLogger) Info(ctx context.Context, msg string, _ ...any) {
	l.log.DebugContext(ctx, "gorm message", "detail", msg)
}

func (l *gormLogger) Warn(ctx context.Context, msg string, _ ...any) {
	l.log.WarnContext(ctx, "gorm warning", "detail", msg)
}

func (l *gormLogger) Error(ctx context.Context, msg string, _ ...any) {
	l.log.WarnContext(ctx, "gorm error", "detail", msg)
}

func (l *gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound) && !errors.Is(err, context.Canceled):
		l.log.WarnContext(ctx, "database statement failed", "err", err, "elapsed", elapsed)
	case elapsed > l.slow:
		_, rows := fc()
		l.log.WarnContext(ctx, "slow database statement", "elapsed", elapsed, "rows", rows)
	}
}
