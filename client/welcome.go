package client

import (
	"context"
	"errors"
	"fmt"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
	"mlsbridge/wire/mlsapi"
)

// welcomeCursorTopic names the cursor of our welcome topic.
const welcomeCursorTopic = "welcomes"

// SyncWelcomes fetches the welcomes addressed to this installation after
// the welcome cursor and joins each group: it finds the key package the
// welcome was wrapped to, unwraps it (spec §7.2), joins with the MLS
// Welcome, checks the group's XMTP extensions, and stores the group with
// its cursor set to the adding commit's id from the welcome metadata,
// advancing the welcome cursor in the same transaction. Invalid welcomes
// are logged and skipped. After any welcome it rotates the key package, as
// libxmtp does. It returns the groups joined.
func (c *Client) SyncWelcomes(ctx context.Context) ([]*Group, error) {
	if !c.isRegistered() {
		return nil, ErrNotRegistered
	}
	cursor, err := c.db.Cursor(ctx, welcomeCursorTopic)
	if err != nil {
		return nil, err
	}
	var joined []*Group
	seen := 0
	for {
		resp, err := c.mlsAPI.QueryWelcomeMessages(ctx, &mlsapi.QueryWelcomeMessagesRequest{InstallationKey: c.inst.ID().Bytes(),
			PagingInfo: &mlsapi.PagingInfo{Direction: mlsapi.SortDirection_SORT_DIRECTION_ASCENDING, Limit: pageSize, IdCursor: cursor}})
		if err != nil {
			return joined, fmt.Errorf("sync welcomes: query: %w", err)
		}
		for _, w := range resp.GetMessages() {
			id := welcomeID(w)
			if id <= cursor {
				continue
			}
			seen++
			g, err := c.joinWelcome(ctx, w)
			var we *WelcomeError
			switch {
			case errors.As(err, &we):
				c.log.Warn("welcome dropped", "welcome_id", id, "err", err)
				if err := c.db.SetCursor(ctx, welcomeCursorTopic, id); err != nil {
					return joined, err
				}
			case err != nil:
				return joined, fmt.Errorf("sync welcomes: %w", err)
			case g != nil:
				joined = append(joined, g)
			}
			cursor = id
		}
		if len(resp.GetMessages()) < pageSize {
			break
		}
	}
	if seen > 0 {
		if err := c.RotateKeyPackage(ctx); err != nil {
			return joined, err
		}
	}
	return joined, nil
}

func welcomeID(w *mlsapi.WelcomeMessage) uint64 {
	if v1 := w.GetV1(); v1 != nil {
		return v1.GetId()
	}
	return w.GetWelcomePointer().GetId()
}

// joinWelcome joins the group of one welcome; a nil group means the group
// was already known. A *WelcomeError drops the welcome.
func (c *Client) joinWelcome(ctx context.Context, w *mlsapi.WelcomeMessage) (*Group, error) {
	v1 := w.GetV1()
	if v1 == nil {
		return nil, &WelcomeError{ID: welcomeID(w), Reason: "welcome pointers are not supported"}
	}
	id := v1.GetId()
	bad := func(format string, args ...any) error {
		return &WelcomeError{ID: id, Reason: fmt.Sprintf(format, args...)}
	}
	if v1.GetWrapperAlgorithm() == content.WelcomeWrapperAlgorithm_WELCOME_WRAPPER_ALGORITHM_XWING_MLKEM_768_DRAFT_6 ||
		v1.GetWrapperAlgorithm() == content.WelcomeWrapperAlgorithm_WELCOME_WRAPPER_ALGORITHM_SYMMETRIC_KEY {
		return nil, bad("wrapper algorithm %v not supported", v1.GetWrapperAlgorithm())
	}
	kp, err := c.db.KeyPackageByInitKey(ctx, v1.GetHpkePublicKey())
	if errors.Is(err, storage.ErrNotFound) {
		return nil, bad("no key package of ours has its hpke public key")
	}
	if err != nil {
		return nil, err
	}
	plain, md, err := unwrapWelcome(kp.InitPrivateKey, v1.GetData(), v1.GetWelcomeMetadata())
	if err != nil {
		return nil, bad("unwrap: %v", err)
	}
	msg, err := mls.ParseMLSMessage(plain)
	if err != nil || msg.WireFormat != mls.WireFormatWelcome {
		return nil, bad("not an MLS Welcome message")
	}
	ownKP, err := decodeKeyPackage(kp.KeyPackage)
	if err != nil {
		return nil, fmt.Errorf("%w: stored key package: %w", ErrInternal, err)
	}
	bundle := &mls.KeyPackageBundle{KeyPackage: *ownKP, InitPrivateKey: kp.InitPrivateKey,
		EncryptionPrivateKey: kp.EncryptionPrivateKey, SignaturePrivateKey: c.signaturePriv()}
	g, err := mls.JoinFromWelcome(c.mlsConfig(), msg.Welcome, bundle, nil)
	if err != nil {
		return nil, bad("join: %v", err)
	}
	ext, err := parseGroupExtensions(g.Extensions())
	if err != nil {
		return nil, bad("%v", err)
	}
	if err := checkWelcomeMembership(g, ext); err != nil {
		return nil, bad("%v", err)
	}
	state, err := g.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInternal, err)
	}
	now := c.nowNs()
	row := storage.ClientGroup{GroupID: g.GroupID(), CreatedNs: now, ConversationType: int32(ext.Metadata.GetConversationType()),
		CreatorInboxID: ext.Metadata.GetCreatorInboxId(), DmID: dmID(ext.Metadata),
		MembershipState: int16(MembershipPending), Active: true, Epoch: g.Epoch(), State: state, Cursor: md.GetMessageCursor(),
		WelcomeID: id, LastMessageNs: int64(v1.GetCreatedNs()), UpdatedNs: now}
	inserted, err := c.db.InsertGroup(ctx, row, nil, welcomeCursorTopic, id)
	if err != nil {
		return nil, err
	}
	if !inserted {
		c.log.Info("welcome for a known group skipped", "group_id", GroupID(row.GroupID).String(), "welcome_id", id)
		return nil, nil
	}
	c.log.Info("joined group", "group_id", GroupID(row.GroupID).String(), "welcome_id", id, "epoch", g.Epoch())
	return &Group{c: c, id: row.GroupID}, nil
}

// checkWelcomeMembership requires that every leaf of the joined tree
// belongs to an inbox listed in the group's membership.
func checkWelcomeMembership(g *mls.Group, ext *GroupExtensions) error {
	members := ext.Membership.GetMembers()
	for _, m := range g.Members() {
		inbox, err := inboxOfLeaf(&m.LeafNode)
		if err != nil {
			return fmt.Errorf("leaf %d: %v", m.Index, err)
		}
		if _, ok := members[string(inbox)]; !ok {
			return fmt.Errorf("leaf %d belongs to inbox %s, not in the membership", m.Index, inbox)
		}
	}
	return nil
}

// dmID is "dm:" + the two DM inbox ids, lowercase and sorted
// (xmtp-groups.md §6), or "" for other conversations.
func dmID(md *content.GroupMetadataV1) string {
	dm := md.GetDmMembers()
	if dm == nil {
		return ""
	}
	a := identity.InboxID(dm.GetDmMemberOne().GetInboxId())
	b := identity.InboxID(dm.GetDmMemberTwo().GetInboxId())
	if b < a {
		a, b = b, a
	}
	return "dm:" + string(a) + ":" + string(b)
}
