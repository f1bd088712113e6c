package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// WelcomeKind tells a welcome from a welcome pointer (spec §2.3, §4.2). Its
// stored numbers are permanent.
type WelcomeKind int16

// The welcome kinds.
const (
	// WelcomeV1 is a wrapped MLS Welcome with its encrypted metadata.
	WelcomeV1 WelcomeKind = 1
	// WelcomePointer is an HPKE-wrapped pointer to a welcome stored under
	// another topic.
	WelcomePointer WelcomeKind = 2
)

// WelcomeMessage is one stored welcome or welcome pointer, kept unopened.
// ID comes from one counter shared by all installations: it only increases
// and is never changed or reused. Topic is the recipient installation key
// (or a pointee's random destination).
type WelcomeMessage struct {
	ID        uint64
	CreatedNs uint64
	Kind      WelcomeKind
	// InstallationKey is the topic.
	InstallationKey []byte
	// Data is the wrapped welcome (WelcomeV1) or the wrapped pointer
	// (WelcomePointer).
	Data          []byte
	HPKEPublicKey []byte
	// WrapperAlgorithm is the wire enum number of the wrapper algorithm
	// (xmtp.mls.message_contents.WelcomeWrapperAlgorithm or
	// WelcomePointerWrapperAlgorithm, which share numbers).
	WrapperAlgorithm int32
	// WelcomeMetadata is the encrypted WelcomeMetadata (WelcomeV1 only).
	WelcomeMetadata []byte
}

type welcomeMessageRow struct {
	ID               int64 `gorm:"primaryKey;autoIncrement"`
	CreatedNs        int64
	InstallationKey  []byte
	Kind             int16
	Data             []byte
	HpkePublicKey    []byte
	WrapperAlgorithm int32
	WelcomeMetadata  []byte
	ContentHash      []byte
}

func (welcomeMessageRow) TableName() string { return "welcome_messages" }

func (r *welcomeMessageRow) model() WelcomeMessage {
	return WelcomeMessage{ID: uint64(r.ID), CreatedNs: uint64(r.CreatedNs), Kind: WelcomeKind(r.Kind),
		InstallationKey: r.InstallationKey, Data: r.Data, HPKEPublicKey: r.HpkePublicKey,
		WrapperAlgorithm: r.WrapperAlgorithm, WelcomeMetadata: r.WelcomeMetadata}
}

// InsertWelcomeMessages stores msgs in order in one transaction, stamping
// each with createdNs, and returns the stored ones with their new ids. A
// welcome whose installation key and data equal a stored one's is skipped
// silently. On error nothing is stored.
func (d *DB) InsertWelcomeMessages(ctx context.Context, createdNs uint64, msgs []WelcomeMessage) ([]WelcomeMessage, error) {
	var out []WelcomeMessage
	err := d.gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = out[:0]
		for _, m := range msgs {
			row := welcomeMessageRow{CreatedNs: clampID(createdNs), InstallationKey: nonNil(m.InstallationKey),
				Kind: int16(m.Kind), Data: nonNil(m.Data), HpkePublicKey: m.HPKEPublicKey,
				WrapperAlgorithm: m.WrapperAlgorithm, WelcomeMetadata: m.WelcomeMetadata,
				ContentHash: contentHash(m.InstallationKey, m.Data)}
			res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "content_hash"}}, DoNothing: true}).Create(&row)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				continue
			}
			if row.ID <= 0 {
				return fmt.Errorf("%w: inserted welcome has no id", ErrInternal)
			}
			out = append(out, row.model())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: insert welcome messages: %w", err)
	}
	return out, nil
}

// QueryWelcomeMessages returns one page of the installation's welcomes.
func (d *DB) QueryWelcomeMessages(ctx context.Context, installationKey []byte, p Page) ([]WelcomeMessage, error) {
	var rows []welcomeMessageRow
	q := d.gdb.WithContext(ctx).Where("installation_key = ?", installationKey)
	if err := p.apply(q, "id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: query welcome messages: %w", err)
	}
	out := make([]WelcomeMessage, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}
