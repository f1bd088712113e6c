package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// IdentityUpdate is one entry of an inbox's identity log (spec §3.2,
// §3.3). SequenceID comes from one counter shared by all inboxes; it is
// assigned once and never changes, because group membership records refer
// to it.
type IdentityUpdate struct {
	SequenceID        uint64
	InboxID           string
	ServerTimestampNs uint64
	// Update is the protobuf encoding of the IdentityUpdate.
	Update []byte
}

// AddressChange is what an accepted identity update did to the
// address→inbox index: Ethereum addresses that became members of the inbox
// and ones that stopped being members. Addresses are kept verbatim.
type AddressChange struct {
	Added   []string
	Removed []string
}

type identityUpdateRow struct {
	SequenceID        int64 `gorm:"primaryKey;autoIncrement"`
	InboxID           string
	ServerTimestampNs int64
	Update            []byte
}

func (identityUpdateRow) TableName() string { return "identity_updates" }

func (r *identityUpdateRow) model() IdentityUpdate {
	return IdentityUpdate{SequenceID: uint64(r.SequenceID), InboxID: r.InboxID,
		ServerTimestampNs: uint64(r.ServerTimestampNs), Update: r.Update}
}

type addressLogRow struct {
	ID                    int64 `gorm:"primaryKey;autoIncrement"`
	Address               string
	InboxID               string
	AssociationSequenceID int64
	RevocationSequenceID  *int64
}

func (addressLogRow) TableName() string { return "address_log" }

// AppendIdentityUpdate appends update to the inbox's log with a new
// sequence id and server timestamp, and applies change to the address
// index under that sequence id, in one transaction. The caller has
// validated the update against the whole log and serializes appends per
// inbox.
func (d *DB) AppendIdentityUpdate(ctx context.Context, inboxID string, update []byte, nowNs uint64, change AddressChange) (IdentityUpdate, error) {
	row := identityUpdateRow{InboxID: inboxID, ServerTimestampNs: clampID(nowNs), Update: nonNil(update)}
	err := d.gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if row.SequenceID <= 0 {
			return fmt.Errorf("%w: appended identity update has no sequence id", ErrInternal)
		}
		for _, a := range change.Added {
			if err := tx.Create(&addressLogRow{Address: a, InboxID: inboxID, AssociationSequenceID: row.SequenceID}).Error; err != nil {
				return err
			}
		}
		for _, a := range change.Removed {
			if err := revokeAddress(tx, a, inboxID, row.SequenceID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return IdentityUpdate{}, fmt.Errorf("storage: append identity update: %w", err)
	}
	return row.model(), nil
}

// revokeAddress marks the address's latest association with the inbox as
// revoked at seq.
func revokeAddress(tx *gorm.DB, address, inboxID string, seq int64) error {
	var row addressLogRow
	err := tx.Where("address = ? AND inbox_id = ? AND revocation_sequence_id IS NULL", address, inboxID).
		Order("association_sequence_id DESC").Take(&row).Error
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return tx.Model(&addressLogRow{}).Where("id = ?", row.ID).Update("revocation_sequence_id", seq).Error
}

// IdentityUpdates returns the inbox's log entries with sequence ids above
// after (0: all), ascending.
func (d *DB) IdentityUpdates(ctx context.Context, inboxID string, after uint64) ([]IdentityUpdate, error) {
	var rows []identityUpdateRow
	err := d.gdb.WithContext(ctx).Where("inbox_id = ? AND sequence_id > ?", inboxID, clampID(after)).
		Order("sequence_id ASC").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("storage: query identity updates: %w", err)
	}
	out := make([]IdentityUpdate, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// InboxIDsByAddress returns, for each identifier in order, the inbox it is
// currently associated with (the unrevoked association with the highest
// sequence id), or "" when there is none. Matching is exact.
func (d *DB) InboxIDsByAddress(ctx context.Context, identifiers []string) ([]string, error) {
	out := make([]string, len(identifiers))
	if len(identifiers) == 0 {
		return out, nil
	}
	var rows []addressLogRow
	err := d.gdb.WithContext(ctx).Where("address IN ? AND revocation_sequence_id IS NULL", identifiers).
		Order("association_sequence_id ASC").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("storage: look up inbox ids: %w", err)
	}
	latest := make(map[string]string, len(rows))
	for _, r := range rows {
		latest[r.Address] = r.InboxID // ascending order: the last one wins
	}
	for i, a := range identifiers {
		out[i] = latest[a]
	}
	return out, nil
}
