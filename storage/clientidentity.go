package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm/clause"
)

// ClientIdentity is the one identity row of a client database: which inbox
// the installation belongs to and its secret keys. InstallationKey is the
// 64-byte Ed25519 private key and HMACRootKey the sender-HMAC secret (spec
// §8); both are secrets.
type ClientIdentity struct {
	InboxID         string
	Address         string
	Nonce           uint64
	InstallationKey []byte
	HMACRootKey     []byte
	// Registered is set once the identity update adding the installation
	// was accepted by the node.
	Registered bool
	CreatedNs  int64
}

type clientIdentityRow struct {
	ID              int `gorm:"primaryKey;autoIncrement:false"`
	InboxID         string
	Address         string
	Nonce           int64
	InstallationKey []byte
	HmacRootKey     []byte
	Registered      bool
	CreatedNs       int64
}

func (clientIdentityRow) TableName() string { return "identity" }

// Identity returns the stored identity, or ErrNotFound for a new database.
func (c *ClientDB) Identity(ctx context.Context) (*ClientIdentity, error) {
	var rows []clientIdentityRow
	if err := c.db(ctx).Where("id = 1").Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: read identity: %w", err)
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	r := rows[0]
	return &ClientIdentity{InboxID: r.InboxID, Address: r.Address, Nonce: uint64(r.Nonce), InstallationKey: r.InstallationKey,
		HMACRootKey: r.HmacRootKey, Registered: r.Registered, CreatedNs: r.CreatedNs}, nil
}

// PutIdentity stores id as the identity, replacing any previous one.
func (c *ClientDB) PutIdentity(ctx context.Context, id ClientIdentity) error {
	row := clientIdentityRow{ID: 1, InboxID: id.InboxID, Address: id.Address, Nonce: clampID(id.Nonce),
		InstallationKey: nonNil(id.InstallationKey), HmacRootKey: nonNil(id.HMACRootKey), Registered: id.Registered, CreatedNs: id.CreatedNs}
	err := c.db(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("storage: put identity: %w", err)
	}
	return nil
}
