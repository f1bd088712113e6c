package storage

import (
	"context"
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

func (r *welcomeMessageRow) rowID() int64 { return r.ID }

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
	rows := make([]*welcomeMessageRow, len(msgs))
	for i, m := range msgs {
		rows[i] = &welcomeMessageRow{CreatedNs: clampID(createdNs), InstallationKey: nonNil(m.InstallationKey),
			Kind: int16(m.Kind), Data: nonNil(m.Data), HpkePublicKey: m.HPKEPublicKey,
			WrapperAlgorithm: m.WrapperAlgorithm, WelcomeMetadata: m.WelcomeMetadata,
			ContentHash: contentHash(m.InstallationKey, m.Data)}
	}
	return insertDeduped(ctx, d, rows, "welcome message")
}

// QueryWelcomeMessages returns one page of the installation's welcomes.
func (d *DB) QueryWelcomeMessages(ctx context.Context, installationKey []byte, p Page) ([]WelcomeMessage, error) {
	return queryPage[welcomeMessageRow, WelcomeMessage](d.gdb.WithContext(ctx).Where("installation_key = ?", installationKey), p, "welcome message")
}
