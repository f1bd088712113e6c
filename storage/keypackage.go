package storage

import (
	"context"
	"crypto/sha256"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

type installationRow struct {
	InstallationKey []byte `gorm:"primaryKey"`
	KeyPackage      []byte
	CreatedNs       int64
	UpdatedNs       int64
}

func (installationRow) TableName() string { return "installations" }

type keyPackageRow struct {
	ID              int64 `gorm:"primaryKey;autoIncrement"`
	InstallationKey []byte
	Hash            []byte
	KeyPackage      []byte
	CreatedNs       int64
}

func (keyPackageRow) TableName() string { return "key_packages" }

// PutKeyPackage makes keyPackage the current key package of the
// installation (the latest upload replaces the previous one, spec §6.5)
// and appends it to the history, ignoring an exact duplicate, in one
// transaction. The caller has validated the key package; installationKey
// is its leaf signature key.
func (d *DB) PutKeyPackage(ctx context.Context, installationKey, keyPackage []byte, nowNs uint64) error {
	now := clampID(nowNs)
	sum := sha256.Sum256(keyPackage)
	err := d.gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		inst := installationRow{InstallationKey: installationKey, KeyPackage: keyPackage, CreatedNs: now, UpdatedNs: now}
		err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "installation_key"}},
			DoUpdates: clause.AssignmentColumns([]string{"key_package", "updated_ns"}),
		}).Create(&inst).Error
		if err != nil {
			return err
		}
		hist := keyPackageRow{InstallationKey: installationKey, Hash: sum[:], KeyPackage: keyPackage, CreatedNs: now}
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "installation_key"}, {Name: "hash"}},
			DoNothing: true,
		}).Create(&hist).Error
	})
	if err != nil {
		return fmt.Errorf("storage: put key package: %w", err)
	}
	return nil
}

// KeyPackages returns the current key package of each installation key,
// in order; nil for an unknown installation.
func (d *DB) KeyPackages(ctx context.Context, installationKeys [][]byte) ([][]byte, error) {
	out := make([][]byte, len(installationKeys))
	if len(installationKeys) == 0 {
		return out, nil
	}
	var rows []installationRow
	err := d.gdb.WithContext(ctx).Select("installation_key", "key_package").
		Where("installation_key IN ?", installationKeys).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("storage: fetch key packages: %w", err)
	}
	byKey := make(map[string][]byte, len(rows))
	for _, r := range rows {
		byKey[string(r.InstallationKey)] = r.KeyPackage
	}
	for i, k := range installationKeys {
		out[i] = byKey[string(k)]
	}
	return out, nil
}

// KeyPackageHistoryLen returns how many distinct key packages the
// installation has uploaded.
func (d *DB) KeyPackageHistoryLen(ctx context.Context, installationKey []byte) (int, error) {
	var n int64
	err := d.gdb.WithContext(ctx).Model(&keyPackageRow{}).Where("installation_key = ?", installationKey).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("storage: count key packages: %w", err)
	}
	return int(n), nil
}
