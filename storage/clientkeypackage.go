package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// ClientKeyPackage is one of the installation's own key packages with its
// private keys (secrets), found by its HPKE init public key, the key
// welcomes name (spec §7.2). DeleteAtNs is 0 while the key package is
// current; a superseded one keeps its keys until then (spec §6.5).
type ClientKeyPackage struct {
	ID                   int64
	InitPublicKey        []byte
	KeyPackage           []byte
	InitPrivateKey       []byte
	EncryptionPrivateKey []byte
	CreatedNs            int64
	// UploadedNs is when the node accepted it; 0 until then.
	UploadedNs int64
	DeleteAtNs int64
}

type clientKeyPackageRow struct {
	ID                   int64 `gorm:"primaryKey;autoIncrement"`
	InitPublicKey        []byte
	KeyPackage           []byte
	InitPrivateKey       []byte
	EncryptionPrivateKey []byte
	CreatedNs            int64
	UploadedNs           int64
	DeleteAtNs           int64
}

func (clientKeyPackageRow) TableName() string { return "key_packages" }

func (r *clientKeyPackageRow) model() *ClientKeyPackage {
	return &ClientKeyPackage{ID: r.ID, InitPublicKey: r.InitPublicKey, KeyPackage: r.KeyPackage, InitPrivateKey: r.InitPrivateKey,
		EncryptionPrivateKey: r.EncryptionPrivateKey, CreatedNs: r.CreatedNs, UploadedNs: r.UploadedNs, DeleteAtNs: r.DeleteAtNs}
}

// InsertKeyPackage stores a new key package and returns its row id.
func (c *ClientDB) InsertKeyPackage(ctx context.Context, kp ClientKeyPackage) (int64, error) {
	row := clientKeyPackageRow{InitPublicKey: kp.InitPublicKey, KeyPackage: kp.KeyPackage, InitPrivateKey: kp.InitPrivateKey,
		EncryptionPrivateKey: kp.EncryptionPrivateKey, CreatedNs: kp.CreatedNs, UploadedNs: kp.UploadedNs, DeleteAtNs: kp.DeleteAtNs}
	if err := c.db(ctx).Create(&row).Error; err != nil {
		return 0, fmt.Errorf("storage: insert key package: %w", err)
	}
	return row.ID, nil
}

// MarkKeyPackageUploaded records that the node accepted key package id at
// nowNs and stamps every older key package still without a delete time
// with deleteAtNs, in one transaction (spec §6.5).
func (c *ClientDB) MarkKeyPackageUploaded(ctx context.Context, id, nowNs, deleteAtNs int64) error {
	err := c.db(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&clientKeyPackageRow{}).Where("id = ?", id).Update("uploaded_ns", nowNs).Error; err != nil {
			return err
		}
		return tx.Model(&clientKeyPackageRow{}).Where("id < ? AND delete_at_ns = 0", id).Update("delete_at_ns", deleteAtNs).Error
	})
	if err != nil {
		return fmt.Errorf("storage: mark key package uploaded: %w", err)
	}
	return nil
}

// KeyPackageByInitKey returns the key package whose HPKE init public key is
// pub, or ErrNotFound.
func (c *ClientDB) KeyPackageByInitKey(ctx context.Context, pub []byte) (*ClientKeyPackage, error) {
	var rows []clientKeyPackageRow
	if err := c.db(ctx).Where("init_public_key = ?", pub).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: find key package: %w", err)
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	return rows[0].model(), nil
}

// LatestKeyPackage returns the newest key package, or ErrNotFound.
func (c *ClientDB) LatestKeyPackage(ctx context.Context) (*ClientKeyPackage, error) {
	var rows []clientKeyPackageRow
	if err := c.db(ctx).Order("id DESC").Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: latest key package: %w", err)
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	return rows[0].model(), nil
}

// DeleteExpiredKeyPackages deletes the key packages whose delete time is
// set and not after nowNs, and returns how many it deleted.
func (c *ClientDB) DeleteExpiredKeyPackages(ctx context.Context, nowNs int64) (int, error) {
	res := c.db(ctx).Where("delete_at_ns > 0 AND delete_at_ns <= ?", nowNs).Delete(&clientKeyPackageRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("storage: delete expired key packages: %w", res.Error)
	}
	return int(res.RowsAffected), nil
}
