package node

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"mlsbridge/storage"
	"mlsbridge/wire/content"
	"mlsbridge/wire/mlsapi"
)

// UploadKeyPackage validates the key package (spec §6.4) and makes it the
// current one of its installation, replacing any earlier upload (spec
// §2.11). It does not check that the installation belongs to the inbox:
// libxmtp uploads before publishing the identity update that adds it.
func (s *Server) UploadKeyPackage(ctx context.Context, req *mlsapi.UploadKeyPackageRequest) (*emptypb.Empty, error) {
	if _, err := s.putKeyPackage(ctx, req.GetKeyPackage()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// RegisterInstallation is the deprecated form of UploadKeyPackage; like
// node-go it stores the key package and returns the installation key.
func (s *Server) RegisterInstallation(ctx context.Context, req *mlsapi.RegisterInstallationRequest) (*mlsapi.RegisterInstallationResponse, error) {
	key, err := s.putKeyPackage(ctx, req.GetKeyPackage())
	if err != nil {
		return nil, err
	}
	return &mlsapi.RegisterInstallationResponse{InstallationKey: key}, nil
}

func (s *Server) putKeyPackage(ctx context.Context, up *mlsapi.KeyPackageUpload) ([]byte, error) {
	if up == nil {
		return nil, invalidArgument("no key package: key_package is required")
	}
	b := up.GetKeyPackageTlsSerialized()
	if len(b) > MaxPayloadBytes {
		return nil, invalidArgument("key package is %d bytes, more than the %d allowed", len(b), MaxPayloadBytes)
	}
	info, err := validateKeyPackage(b, s.now())
	if err != nil {
		return nil, invalidArgument("invalid key package: %v", err)
	}
	if err := s.db.PutKeyPackage(ctx, info.installationKey, b, s.nowNs()); err != nil {
		return nil, internalError("store key package", err)
	}
	s.log.DebugContext(ctx, "key package stored", "inbox_id", info.inboxID.String())
	return info.installationKey, nil
}

// FetchKeyPackages returns exactly one entry per requested installation
// key, in order; unknown installations get an empty entry (spec §2.11).
func (s *Server) FetchKeyPackages(ctx context.Context, req *mlsapi.FetchKeyPackagesRequest) (*mlsapi.FetchKeyPackagesResponse, error) {
	kps, err := s.db.KeyPackages(ctx, req.GetInstallationKeys())
	if err != nil {
		return nil, internalError("fetch key packages", err)
	}
	resp := &mlsapi.FetchKeyPackagesResponse{KeyPackages: make([]*mlsapi.FetchKeyPackagesResponse_KeyPackage, len(kps))}
	for i, kp := range kps {
		resp.KeyPackages[i] = &mlsapi.FetchKeyPackagesResponse_KeyPackage{KeyPackageTlsSerialized: kp}
	}
	return resp, nil
}

// SendGroupMessages validates the MLS framing of every message first and
// rejects the whole call if any fails; then it stores them in request
// order (exact duplicates are skipped) and wakes the subscribers.
func (s *Server) SendGroupMessages(ctx context.Context, req *mlsapi.SendGroupMessagesRequest) (*emptypb.Empty, error) {
	in := req.GetMessages()
	if len(in) == 0 {
		return nil, invalidArgument("no messages: messages must hold at least one GroupMessageInput")
	}
	msgs := make([]storage.GroupMessage, len(in))
	for i, m := range in {
		v1 := m.GetV1()
		if v1 == nil {
			return nil, invalidArgument("messages[%d]: version v1 is required", i)
		}
		if len(v1.GetData()) > MaxPayloadBytes {
			return nil, invalidArgument("messages[%d]: data is %d bytes, more than the %d allowed", i, len(v1.GetData()), MaxPayloadBytes)
		}
		info, err := parseGroupMessage(v1.GetData())
		if err != nil {
			return nil, invalidArgument("messages[%d]: %v", i, err)
		}
		msgs[i] = storage.GroupMessage{GroupID: info.groupID, Data: v1.GetData(), SenderHMAC: v1.GetSenderHmac(),
			ShouldPush: v1.GetShouldPush(), IsCommit: info.isCommit}
	}
	s.groupWrite.Lock()
	defer s.groupWrite.Unlock()
	stored, err := s.db.InsertGroupMessages(ctx, s.nowNs(), msgs)
	if err != nil {
		return nil, internalError("store group messages", err)
	}
	items := make([]item[storage.GroupMessage], len(stored))
	for i, m := range stored {
		items[i] = item[storage.GroupMessage]{topic: string(m.GroupID), id: m.ID, value: m}
	}
	s.group.publish(items)
	return &emptypb.Empty{}, nil
}

// SendWelcomeMessages checks the shape of every welcome (spec §2.11),
// rejecting the whole call if one is malformed, then stores them unopened
// in request order (exact duplicates are skipped) and wakes the
// subscribers.
func (s *Server) SendWelcomeMessages(ctx context.Context, req *mlsapi.SendWelcomeMessagesRequest) (*emptypb.Empty, error) {
	in := req.GetMessages()
	if len(in) == 0 {
		return nil, invalidArgument("no messages: messages must hold at least one WelcomeMessageInput")
	}
	msgs := make([]storage.WelcomeMessage, len(in))
	for i, m := range in {
		w, err := welcomeFromInput(m)
		if err != nil {
			return nil, invalidArgument("messages[%d]: %v", i, err)
		}
		msgs[i] = w
	}
	s.welcomeWrite.Lock()
	defer s.welcomeWrite.Unlock()
	stored, err := s.db.InsertWelcomeMessages(ctx, s.nowNs(), msgs)
	if err != nil {
		return nil, internalError("store welcome messages", err)
	}
	items := make([]item[storage.WelcomeMessage], len(stored))
	for i, w := range stored {
		items[i] = item[storage.WelcomeMessage]{topic: string(w.InstallationKey), id: w.ID, value: w}
	}
	s.wel.publish(items)
	return &emptypb.Empty{}, nil
}

func welcomeFromInput(m *mlsapi.WelcomeMessageInput) (storage.WelcomeMessage, error) {
	switch {
	case m.GetV1() != nil:
		v := m.GetV1()
		alg := v.GetWrapperAlgorithm()
		switch {
		case len(v.GetInstallationKey()) == 0:
			return storage.WelcomeMessage{}, fmt.Errorf("v1.installation_key is empty")
		case len(v.GetData()) == 0:
			return storage.WelcomeMessage{}, fmt.Errorf("v1.data is empty")
		case len(v.GetHpkePublicKey()) == 0 && alg != content.WelcomeWrapperAlgorithm_WELCOME_WRAPPER_ALGORITHM_SYMMETRIC_KEY:
			return storage.WelcomeMessage{}, fmt.Errorf("v1.hpke_public_key is empty; only SYMMETRIC_KEY welcomes may omit it")
		case len(v.GetData())+len(v.GetWelcomeMetadata()) > MaxPayloadBytes:
			return storage.WelcomeMessage{}, fmt.Errorf("v1 welcome is more than %d bytes", MaxPayloadBytes)
		}
		if alg == content.WelcomeWrapperAlgorithm_WELCOME_WRAPPER_ALGORITHM_UNSPECIFIED {
			alg = content.WelcomeWrapperAlgorithm_WELCOME_WRAPPER_ALGORITHM_CURVE25519 // spec §2.12
		}
		return storage.WelcomeMessage{Kind: storage.WelcomeV1, InstallationKey: v.GetInstallationKey(), Data: v.GetData(),
			HPKEPublicKey: v.GetHpkePublicKey(), WrapperAlgorithm: int32(alg), WelcomeMetadata: v.GetWelcomeMetadata()}, nil
	case m.GetWelcomePointer() != nil:
		p := m.GetWelcomePointer()
		switch {
		case len(p.GetInstallationKey()) == 0:
			return storage.WelcomeMessage{}, fmt.Errorf("welcome_pointer.installation_key is empty")
		case len(p.GetWelcomePointer()) == 0:
			return storage.WelcomeMessage{}, fmt.Errorf("welcome_pointer.welcome_pointer is empty")
		case len(p.GetHpkePublicKey()) == 0:
			return storage.WelcomeMessage{}, fmt.Errorf("welcome_pointer.hpke_public_key is empty")
		case p.GetWrapperAlgorithm() != content.WelcomePointerWrapperAlgorithm_WELCOME_POINTER_WRAPPER_ALGORITHM_XWING_MLKEM_768_DRAFT_6:
			return storage.WelcomeMessage{}, fmt.Errorf("welcome_pointer.wrapper_algorithm is %v; pointers must use XWING_MLKEM_768_DRAFT_6", p.GetWrapperAlgorithm())
		case len(p.GetWelcomePointer()) > MaxPayloadBytes:
			return storage.WelcomeMessage{}, fmt.Errorf("welcome pointer is more than %d bytes", MaxPayloadBytes)
		}
		return storage.WelcomeMessage{Kind: storage.WelcomePointer, InstallationKey: p.GetInstallationKey(), Data: p.GetWelcomePointer(),
			HPKEPublicKey: p.GetHpkePublicKey(), WrapperAlgorithm: int32(p.GetWrapperAlgorithm())}, nil
	}
	return storage.WelcomeMessage{}, fmt.Errorf("neither v1 nor welcome_pointer is set")
}

// queryPage converts request paging (spec §2.11): descending unless
// ASCENDING is given, limit 0 or > 100 means 100.
func queryPage(pi *mlsapi.PagingInfo) storage.Page {
	return storage.Page{
		Descending: pi.GetDirection() != mlsapi.SortDirection_SORT_DIRECTION_ASCENDING,
		Limit:      int(min(pi.GetLimit(), storage.MaxPageSize)),
		Cursor:     pi.GetIdCursor(),
	}
}

// responsePaging echoes the page used, with id_cursor = the last id only
// when the page is full.
func responsePaging(p storage.Page, n int, lastID uint64) *mlsapi.PagingInfo {
	limit := p.Limit
	if limit <= 0 {
		limit = storage.MaxPageSize
	}
	dir := mlsapi.SortDirection_SORT_DIRECTION_ASCENDING
	if p.Descending {
		dir = mlsapi.SortDirection_SORT_DIRECTION_DESCENDING
	}
	out := &mlsapi.PagingInfo{Direction: dir, Limit: uint32(limit)}
	if n > 0 && n == limit {
		out.IdCursor = lastID
	}
	return out
}

// QueryGroupMessages returns one page of a group's messages (spec §2.11).
func (s *Server) QueryGroupMessages(ctx context.Context, req *mlsapi.QueryGroupMessagesRequest) (*mlsapi.QueryGroupMessagesResponse, error) {
	if len(req.GetGroupId()) == 0 {
		return nil, invalidArgument("group_id is required")
	}
	p := queryPage(req.GetPagingInfo())
	msgs, err := s.db.QueryGroupMessages(ctx, req.GetGroupId(), p)
	if err != nil {
		return nil, internalError("query group messages", err)
	}
	resp := &mlsapi.QueryGroupMessagesResponse{Messages: make([]*mlsapi.GroupMessage, len(msgs))}
	var last uint64
	for i, m := range msgs {
		resp.Messages[i] = groupMessageProto(m, true)
		last = m.ID
	}
	resp.PagingInfo = responsePaging(p, len(msgs), last)
	return resp, nil
}

// QueryWelcomeMessages returns one page of an installation's welcomes.
func (s *Server) QueryWelcomeMessages(ctx context.Context, req *mlsapi.QueryWelcomeMessagesRequest) (*mlsapi.QueryWelcomeMessagesResponse, error) {
	if len(req.GetInstallationKey()) == 0 {
		return nil, invalidArgument("installation_key is required")
	}
	p := queryPage(req.GetPagingInfo())
	ws, err := s.db.QueryWelcomeMessages(ctx, req.GetInstallationKey(), p)
	if err != nil {
		return nil, internalError("query welcome messages", err)
	}
	resp := &mlsapi.QueryWelcomeMessagesResponse{Messages: make([]*mlsapi.WelcomeMessage, len(ws))}
	var last uint64
	for i, w := range ws {
		resp.Messages[i] = welcomeProto(w)
		last = w.ID
	}
	resp.PagingInfo = responsePaging(p, len(ws), last)
	return resp, nil
}

// GetNewestGroupMessage returns the latest message of each group, one
// entry per requested group in order, unset for a group without messages.
func (s *Server) GetNewestGroupMessage(ctx context.Context, req *mlsapi.GetNewestGroupMessageRequest) (*mlsapi.GetNewestGroupMessageResponse, error) {
	ids := req.GetGroupIds()
	if len(ids) == 0 {
		return nil, invalidArgument("group_ids is empty")
	}
	if len(ids) > maxNewestGroups {
		return nil, invalidArgument("%d group_ids; at most %d per call", len(ids), maxNewestGroups)
	}
	for i, g := range ids {
		if len(g) == 0 {
			return nil, invalidArgument("group_ids[%d] is empty", i)
		}
	}
	newest, err := s.db.NewestGroupMessages(ctx, ids, req.GetIncludeContent())
	if err != nil {
		return nil, internalError("newest group messages", err)
	}
	resp := &mlsapi.GetNewestGroupMessageResponse{Responses: make([]*mlsapi.GetNewestGroupMessageResponse_Response, len(newest))}
	for i, m := range newest {
		r := &mlsapi.GetNewestGroupMessageResponse_Response{}
		if m != nil {
			r.GroupMessage = groupMessageProto(*m, req.GetIncludeContent())
		}
		resp.Responses[i] = r
	}
	return resp, nil
}

// RevokeInstallation is not used by libxmtp 1.9.1 (spec §1.3).
func (s *Server) RevokeInstallation(context.Context, *mlsapi.RevokeInstallationRequest) (*emptypb.Empty, error) {
	return nil, status.Error(codes.Unimplemented, "MlsApi/RevokeInstallation is not supported; revoke installations with an identity update (IdentityApi/PublishIdentityUpdate)")
}

// GetIdentityUpdates (MlsApi) is the old wallet-keyed form (spec §2.10).
func (s *Server) GetIdentityUpdates(context.Context, *mlsapi.GetIdentityUpdatesRequest) (*mlsapi.GetIdentityUpdatesResponse, error) {
	return nil, status.Error(codes.Unimplemented, "MlsApi/GetIdentityUpdates is not supported; use IdentityApi/GetIdentityUpdates")
}

func groupMessageProto(m storage.GroupMessage, withContent bool) *mlsapi.GroupMessage {
	v1 := &mlsapi.GroupMessage_V1{Id: m.ID, CreatedNs: m.CreatedNs, GroupId: m.GroupID, IsCommit: m.IsCommit}
	if withContent {
		v1.Data, v1.SenderHmac, v1.ShouldPush = m.Data, m.SenderHMAC, m.ShouldPush
	}
	return &mlsapi.GroupMessage{Version: &mlsapi.GroupMessage_V1_{V1: v1}}
}

func welcomeProto(w storage.WelcomeMessage) *mlsapi.WelcomeMessage {
	if w.Kind == storage.WelcomePointer {
		return &mlsapi.WelcomeMessage{Version: &mlsapi.WelcomeMessage_WelcomePointer_{WelcomePointer: &mlsapi.WelcomeMessage_WelcomePointer{
			Id: w.ID, CreatedNs: w.CreatedNs, InstallationKey: w.InstallationKey, WelcomePointer: w.Data,
			HpkePublicKey: w.HPKEPublicKey, WrapperAlgorithm: content.WelcomePointerWrapperAlgorithm(w.WrapperAlgorithm),
		}}}
	}
	return &mlsapi.WelcomeMessage{Version: &mlsapi.WelcomeMessage_V1_{V1: &mlsapi.WelcomeMessage_V1{
		Id: w.ID, CreatedNs: w.CreatedNs, InstallationKey: w.InstallationKey, Data: w.Data,
		HpkePublicKey: w.HPKEPublicKey, WrapperAlgorithm: content.WelcomeWrapperAlgorithm(w.WrapperAlgorithm),
		WelcomeMetadata: w.WelcomeMetadata,
	}}}
}
