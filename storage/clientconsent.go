package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ClientConsent is the installation's consent for one entity
// (xmtp-groups.md §11): EntityType and State hold the client's stored
// numbers, which are permanent; Entity is a lowercase hex group id or an
// inbox id.
type ClientConsent struct {
	EntityType    int16
	Entity        string
	State         int16
	ConsentedAtNs int64
}

type clientConsentRow struct {
	EntityType    int16  `gorm:"primaryKey;autoIncrement:false"`
	Entity        string `gorm:"primaryKey"`
	State         int16
	ConsentedAtNs int64
}

func (clientConsentRow) TableName() string { return "consent_records" }

// SetConsent stores records, replacing those of the same entities, in one
// transaction.
func (c *ClientDB) SetConsent(ctx context.Context, records ...ClientConsent) error {
	err := c.db(ctx).Transaction(func(tx *gorm.DB) error {
		for _, r := range records {
			row := clientConsentRow(r)
			if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: set consent: %w", err)
	}
	return nil
}

// Consent returns the records of entities of entityType, keyed by entity;
// entities without a record are absent.
func (c *ClientDB) Consent(ctx context.Context, entityType int16, entities []string) (map[string]ClientConsent, error) {
	out := map[string]ClientConsent{}
	if len(entities) == 0 {
		return out, nil
	}
	var rows []clientConsentRow
	if err := c.db(ctx).Where("entity_type = ? AND entity IN ?", entityType, entities).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: read consent: %w", err)
	}
	for _, r := range rows {
		out[r.Entity] = ClientConsent(r)
	}
	return out, nil
}

// ConsentEntitiesInState returns the entities of entityType whose stored
// state is state.
func (c *ClientDB) ConsentEntitiesInState(ctx context.Context, entityType, state int16) ([]string, error) {
	var out []string
	err := c.db(ctx).Model(&clientConsentRow{}).Where("entity_type = ? AND state = ?", entityType, state).
		Order("entity").Pluck("entity", &out).Error
	if err != nil {
		return nil, fmt.Errorf("storage: read consent: %w", err)
	}
	return out, nil
}
