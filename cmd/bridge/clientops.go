package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"mlsbridge/client"
	"mlsbridge/identity"
	"mlsbridge/wire/content"
)

// command holds every field a libxmtp-peer command may carry that the Go
// client uses. Pointers tell "absent" from a zero value where the peer's
// default is not the zero value.
type command struct {
	Op          string   `json:"op"`
	Client      string   `json:"client"`
	As          string   `json:"as"`
	OpTimeoutMs *int64   `json:"opTimeoutMs"`
	DB          string   `json:"db"`
	Host        string   `json:"host"`
	Key         string   `json:"key"`
	Register    bool     `json:"register"`
	Addresses   []string `json:"addresses"`
	Address     string   `json:"address"`
	Inbox       string   `json:"inbox"`
	Refresh     *bool    `json:"refresh"`
	Members     []string `json:"members"`
	Name        *string  `json:"name"`
	Description *string  `json:"description"`
	Permissions string   `json:"permissions"`
	Group       string   `json:"group"`
	Text        *string  `json:"text"`
	Sync        *bool    `json:"sync"`
	All         bool     `json:"all"`
	Type        string   `json:"type"`
	Consent     any      `json:"consent"`
	// Message filters of "messages".
	ContentTypes        []string `json:"contentTypes"`
	ExcludeContentTypes []string `json:"excludeContentTypes"`
	ExcludeSenders      []string `json:"excludeSenders"`
	// Waiting ops.
	TimeoutMs *int64   `json:"timeoutMs"`
	PollMs    *int64   `json:"pollMs"`
	Count     *int     `json:"count"`
	ViaStream bool     `json:"viaStream"`
	Include   []string `json:"include"`
	Exclude   []string `json:"exclude"`
	// Consent ops.
	EntityType string `json:"entityType"`
	Entity     string `json:"entity"`
	State      string `json:"state"`
	// sleep.
	Ms *int64 `json:"ms"`
	// raw is the whole command after reference resolution, for ops
	// (in their own files) that read fields not listed above: see
	// [command.decode].
	raw any
}

// decode unmarshals the whole command into v, a struct of the extra fields
// an op needs; unknown fields are ignored as they are everywhere else.
func (c *command) decode(v any) error {
	if err := remarshal(c.raw, v); err != nil {
		return fmt.Errorf("bad %s command: %w", c.Op, err)
	}
	return nil
}

// opFunc runs one command and returns its result fields.
type opFunc func(ctx context.Context, s *clientSession, cmd *command) (obj, error)

// clientOps are the ops the Go client supports (set in init: some ops call
// others through the table). Files that add ops register them from their
// own init with registerClientOps.
var clientOps = map[string]opFunc{}

// registerClientOps adds ops to clientOps; a name registered twice is a
// programming error.
func registerClientOps(ops map[string]opFunc) {
	for name, fn := range ops {
		if _, dup := clientOps[name]; dup {
			panic("bridge client: op " + name + " registered twice")
		}
		clientOps[name] = fn
	}
}

func init() {
	registerClientOps(map[string]opFunc{
		"create": opCreate, "register": opRegister, "inboxId": opInboxID, "canMessage": opCanMessage,
		"findInbox": opFindInbox, "inboxState": opInboxState, "newGroup": opNewGroup, "addMembers": opAddMembers,
		"removeMembers": opRemoveMembers, "send": opSend, "sync": opSync, "syncAll": opSyncAll, "syncGroup": opSyncGroup,
		"listGroups": opListGroups, "messages": opMessages, "members": opMembers, "groupInfo": opGroupInfo, "dm": opDM,
		"waitMessage": opWaitMessage, "waitGroup": opWaitGroup, "waitMembers": opWaitMembers,
		"setConsent": opSetConsent, "getConsent": opGetConsent, "addMembersByAddress": opAddMembersByAddress,
		"removeMembersByAddress": opRemoveMembersByAddress, "sleep": opSleep, "exit": opExit,
	})
}

// supportedClientOps returns the supported op names, sorted.
func supportedClientOps() []string {
	out := make([]string, 0, len(clientOps))
	for k := range clientOps {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func opCreate(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	name := cmd.Client
	if name == "" {
		name = "default"
	}
	if _, ok := s.clients[name]; ok {
		return nil, fmt.Errorf("client %s exists", name)
	}
	if cmd.DB == "" {
		return nil, errors.New(`missing "db" (path of the client's sqlite database)`)
	}
	host := cmd.Host
	if host == "" {
		host = "http://127.0.0.1:5556"
	}
	if strings.HasPrefix(host, "https://") {
		return nil, errors.New("host: https is not supported by the Go client (plaintext HTTP/2 only)")
	}
	wallet, err := walletFrom(cmd.Key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cmd.DB), 0o755); err != nil {
		return nil, fmt.Errorf("create db folder: %w", err)
	}
	c, err := client.New(ctx, wallet, client.Options{NodeAddress: host, DBPath: cmd.DB,
		Logger: s.log.With("component", "client", "client", name), LeaveRequestInterval: time.Second})
	if err != nil {
		return nil, err
	}
	s.clients[name] = &sessionClient{c: c, wallet: wallet}
	s.current = name
	res := obj{{"client", name}, {"inboxId", string(c.InboxID())}, {"address", string(wallet.Address())},
		{"installationId", c.InstallationID().String()}, {"isRegistered", c.IsRegistered()},
		{"privateKey", "0x" + hex.EncodeToString(wallet.PrivateKey())}}
	if cmd.Register {
		reg, err := opRegister(ctx, s, &command{Client: name})
		if err != nil {
			return nil, err
		}
		res = merge(res, reg)
	}
	return res, nil
}

// walletFrom returns the wallet of a 0x-hex private key, or a new one.
func walletFrom(key string) (*identity.EthereumSigner, error) {
	if key == "" {
		return identity.GenerateEthereumSigner(nil)
	}
	b, err := hex.DecodeString(strings.TrimPrefix(key, "0x"))
	if err != nil {
		return nil, errors.New(`"key" must be a 0x-prefixed hex private key`)
	}
	return identity.NewEthereumSigner(b)
}

// merge sets b's fields on a, replacing fields of the same name in place.
func merge(a, b obj) obj {
	for _, f := range b {
		i := slices.IndexFunc(a, func(x kv) bool { return x.k == f.k })
		if i >= 0 {
			a[i] = f
		} else {
			a = append(a, f)
		}
	}
	return a
}

func opRegister(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	reg, err := sc.c.RegisterInstallation(ctx)
	if err != nil {
		return nil, err
	}
	// As the peer: the identity update's signature text, null when the
	// installation was already registered (nothing signed).
	var text any
	if reg.SignatureText != "" {
		text = reg.SignatureText
	}
	return obj{{"inboxId", string(sc.c.InboxID())}, {"isRegistered", sc.c.IsRegistered()}, {"signatureText", text}}, nil
}

func opInboxID(_ context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	return obj{{"inboxId", string(sc.c.InboxID())}, {"address", string(sc.c.Address())},
		{"installationId", sc.c.InstallationID().String()}, {"isRegistered", sc.c.IsRegistered()}}, nil
}

func addresses(ss []string) ([]identity.Address, error) {
	out := make([]identity.Address, len(ss))
	for i, a := range ss {
		p, err := identity.ParseAddress(a)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

func opCanMessage(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	addrs, err := addresses(cmd.Addresses)
	if err != nil {
		return nil, err
	}
	m, err := sc.c.CanMessage(ctx, addrs)
	if err != nil {
		return nil, err
	}
	res := obj{}
	for _, a := range addrs {
		res = merge(res, obj{{string(a), m[a]}})
	}
	return obj{{"result", res}}, nil
}

func opFindInbox(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	a, err := identity.ParseAddress(cmd.Address)
	if err != nil {
		return nil, err
	}
	id, ok, err := sc.c.InboxIDFor(ctx, a)
	if err != nil {
		return nil, err
	}
	if !ok {
		return obj{{"inboxId", nil}}, nil
	}
	return obj{{"inboxId", string(id)}}, nil
}

func opInboxState(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	inbox := sc.c.InboxID()
	if cmd.Inbox != "" {
		inbox = identity.InboxID(cmd.Inbox)
	}
	st, err := sc.c.InboxState(ctx, inbox)
	if err != nil {
		return nil, err
	}
	var recovery any
	if a, ok := st.RecoveryIdentifier().Address(); ok {
		recovery = string(a)
	}
	ids := []string{}
	for _, a := range st.Addresses() {
		ids = append(ids, string(a))
	}
	return obj{{"inboxId", string(st.InboxID())}, {"recovery", recovery}, {"identifiers", ids},
		{"installations", installationHex(st.Installations())}}, nil
}

func installationHex(ids []identity.InstallationID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

func inboxIDs(ss []string) []identity.InboxID {
	out := make([]identity.InboxID, len(ss))
	for i, s := range ss {
		out[i] = identity.InboxID(s)
	}
	return out
}

func opNewGroup(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	opts, err := newGroupOptions(cmd)
	if err != nil {
		return nil, err
	}
	g, err := createNewGroup(ctx, sc, cmd, opts)
	if err != nil {
		return nil, err
	}
	return obj{{"group", g.ID().String()}, {"name", opts.Name}}, nil
}

// group returns the client's group named by cmd.group.
func (sc *sessionClient) group(ctx context.Context, id string) (*client.Group, error) {
	if id == "" {
		return nil, errors.New(`missing "group"`)
	}
	b, err := hex.DecodeString(id)
	if err != nil {
		return nil, fmt.Errorf("group %q: not a hex group id", id)
	}
	return sc.c.Group(ctx, client.GroupID(b))
}

// peerGroup resolves the command's client and group.
func (s *clientSession) peerGroup(ctx context.Context, cmd *command) (*sessionClient, *client.Group, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, nil, err
	}
	g, err := sc.group(ctx, cmd.Group)
	return sc, g, err
}

// syncedGroup is peerGroup, the group synced first when the command's
// "sync" says so (byDefault when it is absent).
func (s *clientSession) syncedGroup(ctx context.Context, cmd *command, byDefault bool) (*sessionClient, *client.Group, error) {
	sc, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, nil, err
	}
	if (cmd.Sync == nil && byDefault) || (cmd.Sync != nil && *cmd.Sync) {
		if err := g.Sync(ctx); err != nil {
			return nil, nil, err
		}
	}
	return sc, g, nil
}

// messageQuery is the query of the messages and enriched ops: every
// message by time, denied senders included, with the command's sender and
// content type filters.
func messageQuery(cmd *command) (*client.MessageQuery, error) {
	types, excluded, err := contentTypeFilters(cmd)
	if err != nil {
		return nil, err
	}
	return &client.MessageQuery{Direction: client.Ascending, ExcludeSenders: inboxIDs(cmd.ExcludeSenders),
		IncludeDenied: true, ContentTypes: types, ExcludeContentTypes: excluded}, nil
}

// changeMembers runs one membership change on the command's group and
// answers {group}, as the peer's membership ops do.
func changeMembers(ctx context.Context, s *clientSession, cmd *command, change func(*client.Group) error) (obj, error) {
	_, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if err := change(g); err != nil {
		return nil, err
	}
	return obj{{"group", cmd.Group}}, nil
}

func opAddMembers(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	return changeMembers(ctx, s, cmd, func(g *client.Group) error {
		_, err := g.AddMembers(ctx, inboxIDs(cmd.Members))
		return err
	})
}

func opRemoveMembers(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	return changeMembers(ctx, s, cmd, func(g *client.Group) error {
		_, err := g.RemoveMembers(ctx, inboxIDs(cmd.Members))
		return err
	})
}

func opAddMembersByAddress(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	return changeMembers(ctx, s, cmd, func(g *client.Group) error {
		addrs, err := addresses(cmd.Addresses)
		if err != nil {
			return err
		}
		_, _, err = g.AddMembersByAddress(ctx, addrs)
		return err
	})
}

func opRemoveMembersByAddress(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	return changeMembers(ctx, s, cmd, func(g *client.Group) error {
		addrs, err := addresses(cmd.Addresses)
		if err != nil {
			return err
		}
		_, _, err = g.RemoveMembersByAddress(ctx, addrs)
		return err
	})
}

func opSend(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	_, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, err
	}
	text := ""
	if cmd.Text != nil {
		text = *cmd.Text
	}
	id, err := g.SendText(ctx, text)
	if err != nil {
		return nil, err
	}
	return obj{{"messageId", id.String()}}, nil
}

func opSync(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	_, err = sc.c.SyncWelcomes(ctx)
	return obj{}, err
}

func opSyncAll(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	consent, err := consentList(cmd.Consent)
	if err != nil {
		return nil, err
	}
	sum, err := sc.c.SyncAllWelcomesAndGroups(ctx, consent)
	if err != nil {
		return nil, err
	}
	return obj{{"numEligible", sum.NumEligible}, {"numSynced", sum.NumSynced}}, nil
}

func opSyncGroup(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	_, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return obj{}, g.Sync(ctx)
}

var consentNames = map[string]client.ConsentState{
	"unknown": client.ConsentUnknown, "allowed": client.ConsentAllowed, "denied": client.ConsentDenied}

func consentName(c client.ConsentState) string {
	for k, v := range consentNames {
		if v == c {
			return k
		}
	}
	return "unknown"
}

// consentList reads a "consent" field: absent, one name or a list.
func consentList(v any) ([]client.ConsentState, error) {
	var names []string
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		names = []string{x}
	case []any:
		for _, e := range x {
			n, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("consent: %v is not a consent state name", e)
			}
			names = append(names, n)
		}
	default:
		return nil, errors.New("consent must be a consent state name or a list of them")
	}
	out := []client.ConsentState{}
	for _, n := range names {
		c, ok := consentNames[n]
		if !ok {
			return nil, fmt.Errorf("unknown consent state %q; one of: unknown, allowed, denied", n)
		}
		out = append(out, c)
	}
	return out, nil
}

var conversationTypes = map[content.ConversationType]string{
	content.ConversationType_CONVERSATION_TYPE_GROUP: "group", content.ConversationType_CONVERSATION_TYPE_DM: "dm",
	content.ConversationType_CONVERSATION_TYPE_SYNC: "sync", content.ConversationType_CONVERSATION_TYPE_ONESHOT: "oneshot"}

func conversationTypeName(t content.ConversationType) any {
	if n, ok := conversationTypes[t]; ok {
		return n
	}
	return nil
}

// groupJSON is one entry of listGroups.
type groupJSON struct {
	Group        string `json:"group"`
	Name         string `json:"name"`
	Type         any    `json:"type"`
	CreatedAtNs  string `json:"createdAtNs"`
	IsActive     bool   `json:"isActive"`
	ConsentState string `json:"consentState"`
}

func listGroups(ctx context.Context, sc *sessionClient, typ string, consent any) ([]groupJSON, error) {
	q := &client.GroupQuery{}
	switch typ {
	case "", "all":
	case "group":
		q.ConversationType = content.ConversationType_CONVERSATION_TYPE_GROUP
	case "dm":
		q.ConversationType = content.ConversationType_CONVERSATION_TYPE_DM
	default:
		return nil, fmt.Errorf("unknown type %q; one of: group, dm, all", typ)
	}
	cs, err := consentList(consent)
	if err != nil {
		return nil, err
	}
	q.ConsentStates = cs
	convs, err := sc.c.ListConversations(ctx, q)
	if err != nil {
		return nil, err
	}
	out := []groupJSON{}
	for _, cv := range convs {
		info, err := cv.Group.Info(ctx)
		if err != nil {
			return nil, err
		}
		// The type from the current group context, as the peer reports it
		// (groupMetadata()); the listing filter uses the stored one.
		out = append(out, groupJSON{Group: cv.Group.ID().String(), Name: info.Name(), Type: conversationTypeName(info.ConversationType),
			CreatedAtNs: strconv.FormatInt(cv.CreatedNs, 10), IsActive: cv.Active, ConsentState: consentName(cv.ConsentState)})
	}
	return out, nil
}

func opListGroups(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	if cmd.Sync != nil && *cmd.Sync {
		if _, err := sc.c.SyncWelcomes(ctx); err != nil {
			return nil, err
		}
	}
	gs, err := listGroups(ctx, sc, cmd.Type, cmd.Consent)
	if err != nil {
		return nil, err
	}
	return obj{{"groups", gs}}, nil
}

// messageJSON is a message as libxmtp-peer's messageJSON prints it.
type messageJSON struct {
	ID             string  `json:"id"`
	Group          string  `json:"group"`
	Sender         string  `json:"sender"`
	SentAtNs       string  `json:"sentAtNs"`
	Kind           string  `json:"kind"`
	DeliveryStatus string  `json:"deliveryStatus"`
	ContentType    *string `json:"contentType"`
	Text           *string `json:"text,omitempty"`
	ContentBytes   *int    `json:"contentBytes,omitempty"`
	// Decoded reaction, reply and deletion fields (decodedMessageFields).
	Reference        *string `json:"reference,omitempty"`
	ReferenceInboxID *string `json:"referenceInboxId,omitempty"`
	Action           *string `json:"action,omitempty"`
	ReactionContent  *string `json:"content,omitempty"`
	Schema           *string `json:"schema,omitempty"`
	ReplyContentType *string `json:"replyContentType,omitempty"`
	DecodeError      *string `json:"decodeError,omitempty"`
}

func messageOf(m *client.Message) messageJSON {
	o := messageJSON{ID: m.ID.String(), Group: m.GroupID.String(), Sender: string(m.SenderInboxID),
		SentAtNs: strconv.FormatInt(m.SentAtNs, 10), Kind: "application"}
	if m.Kind == client.KindMembershipChange {
		o.Kind = "membershipChange"
	}
	switch m.DeliveryStatus {
	case client.StatusUnpublished:
		o.DeliveryStatus = "unpublished"
	case client.StatusFailed:
		o.DeliveryStatus = "failed"
	default:
		o.DeliveryStatus = "published"
	}
	ec, err := m.Content()
	if err != nil || ec.GetType() == nil {
		return o
	}
	t := ec.GetType()
	ct := fmt.Sprintf("%s/%s:%d.%d", t.GetAuthorityId(), t.GetTypeId(), t.GetVersionMajor(), t.GetVersionMinor())
	o.ContentType = &ct
	if t.GetAuthorityId() == "xmtp.org" && (t.GetTypeId() == "text" || t.GetTypeId() == "markdown") && t.GetVersionMajor() == 1 {
		text := string(ec.GetContent())
		o.Text = &text
	} else {
		// As the peer: any other content reports its size, 0 included
		// (a leave request's content is empty).
		n := len(ec.GetContent())
		o.ContentBytes = &n
		decodedMessageFields(&o, ec)
	}
	return o
}

func findMessages(ctx context.Context, g *client.Group, cmd *command) ([]messageJSON, error) {
	q, err := messageQuery(cmd)
	if err != nil {
		return nil, err
	}
	ms, err := g.FindMessages(ctx, q)
	if err != nil {
		return nil, err
	}
	out := []messageJSON{}
	for i := range ms {
		m := messageOf(&ms[i])
		if cmd.All || m.Kind == "application" {
			out = append(out, m)
		}
	}
	return out, nil
}

func opMessages(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	_, g, err := s.syncedGroup(ctx, cmd, true)
	if err != nil {
		return nil, err
	}
	ms, err := findMessages(ctx, g, cmd)
	if err != nil {
		return nil, err
	}
	return obj{{"messages", ms}}, nil
}

// memberJSON is one entry of members.
type memberJSON struct {
	InboxID         string   `json:"inboxId"`
	PermissionLevel string   `json:"permissionLevel"`
	InstallationIDs []string `json:"installationIds"`
	Identifiers     []string `json:"identifiers"`
	ConsentState    string   `json:"consentState"`
}

func members(ctx context.Context, g *client.Group) ([]memberJSON, error) {
	ms, err := g.Members(ctx)
	if err != nil {
		return nil, err
	}
	out := []memberJSON{}
	for _, m := range ms {
		level := "member"
		switch m.PermissionLevel {
		case client.PermissionAdmin:
			level = "admin"
		case client.PermissionSuperAdmin:
			level = "superAdmin"
		}
		ids := []string{}
		for _, a := range m.Addresses {
			ids = append(ids, string(a))
		}
		out = append(out, memberJSON{InboxID: string(m.InboxID), PermissionLevel: level,
			InstallationIDs: installationHex(m.Installations), Identifiers: ids, ConsentState: consentName(m.ConsentState)})
	}
	return out, nil
}

func opMembers(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	_, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, err
	}
	ms, err := members(ctx, g)
	if err != nil {
		return nil, err
	}
	return obj{{"members", ms}}, nil
}

var membershipStates = map[client.MembershipState]string{client.MembershipAllowed: "allowed",
	client.MembershipRejected: "rejected", client.MembershipPending: "pending", client.MembershipRestored: "restored",
	client.MembershipPendingRemove: "pendingRemove"}

func inboxStrings(ids []identity.InboxID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

func opGroupInfo(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	_, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if cmd.Sync != nil && *cmd.Sync {
		if err := g.Sync(ctx); err != nil {
			return nil, err
		}
	}
	info, err := g.Info(ctx)
	if err != nil {
		return nil, err
	}
	consent, err := g.ConsentState(ctx)
	if err != nil {
		return nil, err
	}
	var membership, addedBy any
	if n, ok := membershipStates[info.MembershipState]; ok {
		membership = n
	}
	if info.AddedByInboxID != "" {
		addedBy = string(info.AddedByInboxID)
	}
	var paused any
	if info.PausedForVersion != "" {
		paused = info.PausedForVersion
	}
	return merge(obj{{"group", info.ID.String()}, {"name", info.Name()}, {"description", info.Description()},
		{"admins", inboxStrings(info.Admins)}, {"superAdmins", inboxStrings(info.SuperAdmins)}, {"isActive", info.Active},
		{"membershipState", membership}, {"creator", string(info.CreatorInboxID)},
		{"type", conversationTypeName(info.ConversationType)}, {"epoch", strconv.FormatUint(info.Epoch, 10)},
		{"imageUrl", attributeOrNull(info, client.AttrImageURLSquare)}, {"appData", attributeOrNull(info, client.AttrAppData)},
		{"disappearing", nil},
		{"disappearingEnabled", nil}, {"consentState", consentName(consent)}, {"addedBy", addedBy},
		{"createdAtNs", strconv.FormatInt(info.CreatedNs, 10)}, {"pausedForVersion", paused}}, disappearingJSON(info)), nil
}

func opDM(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	if cmd.Inbox == "" {
		return nil, errors.New(`missing "inbox"`)
	}
	opts, err := dmOptions(cmd)
	if err != nil {
		return nil, err
	}
	g, created, err := sc.c.FindOrCreateDMWithOptions(ctx, identity.InboxID(cmd.Inbox), opts)
	if err != nil {
		return nil, err
	}
	return obj{{"group", g.ID().String()}, {"created", created}}, nil
}

// waitFor calls poll every pollMs until it reports done, an error after
// the deadline, or ctx ends.
func waitFor(ctx context.Context, cmd *command, poll func() (bool, error), timeoutErr func() error) error {
	timeout, every := 15*time.Second, 300*time.Millisecond
	if cmd.TimeoutMs != nil {
		timeout = time.Duration(*cmd.TimeoutMs) * time.Millisecond
	}
	if cmd.PollMs != nil {
		every = time.Duration(*cmd.PollMs) * time.Millisecond
	}
	deadline := time.Now().Add(timeout)
	for {
		done, err := poll()
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return err
			}
			return timeoutErr()
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func opWaitMessage(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	if cmd.ViaStream {
		return waitViaStream(ctx, sc, cmd)
	}
	var hit *messageJSON
	via := "sync"
	poll := func() (bool, error) {
		if m := sc.streamedHit(cmd); m != nil { // what a stream collected, first (as the peer)
			hit, via = m, "stream"
			return true, nil
		}
		g, err := sc.group(ctx, cmd.Group)
		if errors.Is(err, client.ErrGroupNotFound) {
			if _, err := sc.c.SyncWelcomes(ctx); err != nil {
				return false, err
			}
			g, err = sc.group(ctx, cmd.Group)
		}
		if err != nil {
			return false, err
		}
		if err := g.Sync(ctx); err != nil {
			return false, err
		}
		ms, err := findMessages(ctx, g, &command{All: true})
		if err != nil {
			return false, err
		}
		for i := range ms {
			if ms[i].Group == cmd.Group && (cmd.Text == nil || (ms[i].Text != nil && *ms[i].Text == *cmd.Text)) {
				hit = &ms[i]
				return true, nil
			}
		}
		return false, nil
	}
	err = waitFor(ctx, cmd, poll, func() error {
		text := "undefined"
		if cmd.Text != nil {
			text = strconv.Quote(*cmd.Text)
		}
		return fmt.Errorf("timeout waiting for message %s in %s", text, cmd.Group)
	})
	if err != nil {
		return nil, err
	}
	return obj{{"message", hit}, {"via", via}}, nil
}

func opWaitGroup(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	count := 1
	if cmd.Count != nil {
		count = *cmd.Count
	}
	var hits []groupJSON
	poll := func() (bool, error) {
		if _, err := sc.c.SyncWelcomes(ctx); err != nil {
			return false, err
		}
		gs, err := listGroups(ctx, sc, cmd.Type, nil)
		if err != nil {
			return false, err
		}
		hits = []groupJSON{}
		for _, g := range gs {
			if (cmd.Name == nil || g.Name == *cmd.Name) && (cmd.Group == "" || g.Group == cmd.Group) {
				hits = append(hits, g)
			}
		}
		return len(hits) >= count, nil
	}
	if err := waitFor(ctx, cmd, poll, func() error { return errors.New("timeout waiting for group") }); err != nil {
		return nil, err
	}
	return obj{{"groups", hits}}, nil
}

func opWaitMembers(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	_, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, err
	}
	var ms []memberJSON
	var ids []string
	poll := func() (bool, error) {
		if err := g.Sync(ctx); err != nil {
			return false, err
		}
		ms, err = members(ctx, g)
		if err != nil {
			return false, err
		}
		ids = ids[:0]
		for _, m := range ms {
			ids = append(ids, m.InboxID)
		}
		for _, x := range cmd.Include {
			if !slices.Contains(ids, x) {
				return false, nil
			}
		}
		for _, x := range cmd.Exclude {
			if slices.Contains(ids, x) {
				return false, nil
			}
		}
		return cmd.Count == nil || len(ids) == *cmd.Count, nil
	}
	err = waitFor(ctx, cmd, poll, func() error {
		return fmt.Errorf("timeout waiting for members (include %q, exclude %q); members now %q", cmd.Include, cmd.Exclude, ids)
	})
	if err != nil {
		return nil, err
	}
	return obj{{"members", ms}}, nil
}

func consentEntity(t string) (client.ConsentEntityType, error) {
	switch t {
	case "inboxId":
		return client.ConsentInbox, nil
	case "conversationId", "groupId":
		return client.ConsentConversation, nil
	}
	return 0, fmt.Errorf("unknown consent entityType %q; one of: inboxId, conversationId", t)
}

func opSetConsent(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	et, err := consentEntity(cmd.EntityType)
	if err != nil {
		return nil, err
	}
	st, ok := consentNames[cmd.State]
	if !ok {
		return nil, fmt.Errorf("unknown consent state %q; one of: unknown, allowed, denied", cmd.State)
	}
	if err := sc.c.SetConsentStates(ctx, client.ConsentRecord{EntityType: et, Entity: cmd.Entity, State: st}); err != nil {
		return nil, err
	}
	return opGetConsent(ctx, s, cmd)
}

func opGetConsent(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	et, err := consentEntity(cmd.EntityType)
	if err != nil {
		return nil, err
	}
	st, err := sc.c.ConsentState(ctx, et, cmd.Entity)
	if err != nil {
		return nil, err
	}
	return obj{{"entityType", cmd.EntityType}, {"entity", cmd.Entity}, {"state", consentName(st)}}, nil
}

func opSleep(ctx context.Context, _ *clientSession, cmd *command) (obj, error) {
	d := 100 * time.Millisecond
	if cmd.Ms != nil {
		d = time.Duration(*cmd.Ms) * time.Millisecond
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return obj{}, nil
	}
}

func opExit(_ context.Context, s *clientSession, _ *command) (obj, error) {
	s.exited = true
	return obj{}, nil
}
