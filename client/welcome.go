package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/policy"
	"mlsbridge/storage"
	"mlsbridge/wire/content"
	"mlsbridge/wire/mlsapi"
)

// welcomeCursorTopic names the cursor of our welcome topic.
const welcomeCursorTopic = "welcomes"

// SyncWelcomes fetches the welcomes addressed to this installation after
// the welcome cursor and joins each group: it finds the key package the
// welcome was wrapped to, unwraps it (spec §7.2), joins with the MLS
// Welcome, checks the group's XMTP extensions (and, for a DM, libxmtp's DM
// rules), and stores the group with its cursor set to the adding commit's
// id from the welcome metadata, advancing the welcome cursor in the same
// transaction. Invalid welcomes are logged and skipped. After any welcome
// it rotates the key package, as libxmtp does. It returns the groups
// joined.
func (c *Client) SyncWelcomes(ctx context.Context) ([]*Group, error) {
	if !c.isRegistered() {
		return nil, ErrNotRegistered
	}
	c.welcomeMu.Lock()
	defer c.welcomeMu.Unlock()
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
			g, err := c.handleWelcome(ctx, w)
			if err != nil {
				return joined, fmt.Errorf("sync welcomes: %w", err)
			}
			if g != nil {
				joined = append(joined, g)
			}
			cursor = id
		}
		if len(resp.GetMessages()) < pageSize {
			break
		}
	}
	if seen > 0 {
		crashPoint("welcome.before_rotate")
		if err := c.RotateKeyPackage(ctx); err != nil {
			return joined, err
		}
	}
	return joined, nil
}

// handleWelcome joins the group of one welcome, or drops the welcome
// (logged, cursor advanced) when it is invalid. The caller holds
// welcomeMu.
func (c *Client) handleWelcome(ctx context.Context, w *mlsapi.WelcomeMessage) (*Group, error) {
	g, err := c.joinWelcome(ctx, w)
	var we *WelcomeError
	if errors.As(err, &we) {
		c.log.Warn("welcome dropped", "welcome_id", welcomeID(w), "err", err)
		return nil, c.db.SetCursor(ctx, welcomeCursorTopic, welcomeID(w))
	}
	return g, err
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
	ownKP, err := mls.ParseKeyPackage(kp.KeyPackage)
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
	addedBy, addedByInst := welcomeSender(g)
	if ext.Metadata.GetConversationType() == content.ConversationType_CONVERSATION_TYPE_DM {
		if err := policy.CheckDMWelcome(policyState(ext), c.inbox, addedBy).Err(); err != nil {
			return nil, bad("%v", err)
		}
	}
	return c.storeJoined(ctx, g, ext, v1, md.GetMessageCursor(), addedBy, addedByInst)
}

// welcomeSender returns the inbox and installation of the member whose
// commit added us (the GroupInfo signer), or "" when unknown.
func welcomeSender(g *mls.Group) (identity.InboxID, []byte) {
	m, ok := g.WelcomeSender()
	if !ok {
		return "", nil
	}
	inbox, err := inboxOfLeaf(&m.LeafNode)
	if err != nil {
		return "", nil
	}
	return inbox, m.LeafNode.SignatureKey
}

// storeJoined stores a group joined from a welcome: with its cursor at the
// adding commit, the "added" record, and the default consent (allowed when
// our own inbox added us; a DM takes the newest consent of the DMs it is
// stitched with). A welcome into a group we have and were removed from,
// newer than where we stopped, replaces its state (we were added again).
// A nil group means the welcome changed nothing.
func (c *Client) storeJoined(ctx context.Context, g *mls.Group, ext *GroupExtensions, w *mlsapi.WelcomeMessage_V1, cursor uint64,
	addedBy identity.InboxID, addedByInst []byte) (*Group, error) {
	id := w.GetId()
	state, err := g.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInternal, err)
	}
	now := c.nowNs()
	row := storage.ClientGroup{GroupID: g.GroupID(), CreatedNs: now, ConversationType: int32(ext.Metadata.GetConversationType()),
		CreatorInboxID: ext.Metadata.GetCreatorInboxId(), AddedByInboxID: string(addedBy), DmID: dmID(ext.Metadata),
		MembershipState: int16(MembershipPending), Active: true, Epoch: g.Epoch(), State: state, Cursor: cursor,
		WelcomeID: id, LastMessageNs: int64(w.GetCreatedNs()), UpdatedNs: now, PausedForVersion: c.welcomePause(ext)}
	var msgs []storage.ClientMessage
	stitched, err := c.db.FindGroups(ctx, storage.GroupQuery{DmID: row.DmID})
	if err != nil {
		return nil, err
	}
	if row.DmID == "" || len(stitched) == 0 {
		gu := &content.GroupUpdated{InitiatedByInboxId: string(addedBy), AddedInboxes: transcriptInboxes([]identity.InboxID{c.inbox})}
		m, err := c.transcriptMessage(row.GroupID, gu, addedBy, addedByInst, strconv.FormatUint(w.GetCreatedNs(), 10)+"_welcome_added", nil)
		if err != nil {
			return nil, err
		}
		m.SentAtNs, m.Cursor = int64(w.GetCreatedNs()), cursor
		msgs = append(msgs, *m)
	}
	crashPoint("welcome.before_store")
	inserted, err := c.db.InsertGroup(ctx, row, msgs, welcomeCursorTopic, id)
	if err != nil {
		return nil, err
	}
	crashPoint("welcome.after_store")
	if !inserted {
		return c.rejoin(ctx, g, row)
	}
	if err := c.welcomeConsent(ctx, row, stitched, addedBy); err != nil {
		return nil, err
	}
	c.log.Info("joined group", "group_id", GroupID(row.GroupID).String(), "welcome_id", id, "epoch", g.Epoch(), "added_by", string(addedBy))
	grp := &Group{c: c, id: row.GroupID}
	c.events.announce(grp)
	return grp, nil
}

func (c *Client) welcomeConsent(ctx context.Context, row storage.ClientGroup, stitched []storage.ClientGroup, addedBy identity.InboxID) error {
	entity := GroupID(row.GroupID).String()
	if addedBy == c.inbox {
		return c.implicitConsent(ctx, ConsentConversation, entity, ConsentAllowed)
	}
	if row.DmID == "" || len(stitched) == 0 {
		return nil // any other welcome: no record, unknown (xmtp-groups.md §11)
	}
	ents := make([]string, len(stitched))
	for i, g := range stitched {
		ents[i] = GroupID(g.GroupID).String()
	}
	recs, err := c.db.Consent(ctx, int16(ConsentConversation), ents)
	if err != nil {
		return err
	}
	var newest *storage.ClientConsent
	for _, r := range recs {
		if newest == nil || r.ConsentedAtNs > newest.ConsentedAtNs {
			newest = &r
		}
	}
	if newest == nil {
		return nil
	}
	return c.SetConsentStates(ctx, ConsentRecord{EntityType: ConsentConversation, Entity: entity, State: ConsentState(newest.State)})
}

// rejoin replaces the state of a group we have with the one a newer
// welcome gave us, if we had been removed from it and the welcome's
// cursor is past ours (we were added again); it returns nil otherwise.
func (c *Client) rejoin(ctx context.Context, g *mls.Group, row storage.ClientGroup) (*Group, error) {
	rejoined := false
	err := c.withGroup(ctx, row.GroupID, func(ctx context.Context, st *groupState) error {
		// A welcome of a later epoch into a group we are still in is a
		// re-add ending a fork (xmtp-groups.md §10).
		readd := st.mls.Active() && g.Epoch() > st.mls.Epoch()
		if !readd && (st.mls.Active() || row.Cursor <= st.row.Cursor) {
			return nil
		}
		st.mls, st.row.Cursor, st.row.Active = g, row.Cursor, true
		st.own = map[string]ownPayload{}
		if err := c.saveState(ctx, st, storage.GroupProgress{}); err != nil {
			return err
		}
		if readd {
			rejoined = true
			return c.readdWelcome(ctx, st)
		}
		if err := c.db.SetGroupMembershipState(ctx, row.GroupID, int16(MembershipAllowed)); err != nil {
			return err
		}
		st.row.MembershipState = int16(MembershipAllowed)
		rejoined = true
		return c.SetConsentStates(ctx, ConsentRecord{EntityType: ConsentConversation, Entity: GroupID(row.GroupID).String(), State: ConsentUnknown})
	})
	if err != nil || !rejoined {
		if err == nil {
			c.log.Info("welcome for a known group skipped", "group_id", GroupID(row.GroupID).String(), "welcome_id", row.WelcomeID)
		}
		return nil, err
	}
	c.log.Info("added to a group again", "group_id", GroupID(row.GroupID).String(), "welcome_id", row.WelcomeID)
	grp := &Group{c: c, id: row.GroupID}
	c.events.announce(grp)
	return grp, nil
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
