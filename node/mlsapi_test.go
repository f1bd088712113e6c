package node

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"mlsbridge/mls"
	"mlsbridge/storage"
	"mlsbridge/wire/association"
	"mlsbridge/wire/content"
	"mlsbridge/wire/mlsapi"
)

func TestGroupMessagesPaging(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	g, other := []byte("group-paging"), []byte("other")
	var batch []*mlsapi.GroupMessageInput
	for i := range 250 {
		ct := mls.ContentTypeApplication
		if i%10 == 0 {
			ct = mls.ContentTypeCommit
		}
		batch = append(batch, groupInput(privateMessage(t, g, ct, fmt.Sprintf("m%d", i))))
		if i%50 == 0 {
			batch = append(batch, groupInput(privateMessage(t, other, ct, fmt.Sprintf("o%d", i))))
		}
	}
	if _, err := tn.mls.SendGroupMessages(ctx, &mlsapi.SendGroupMessagesRequest{Messages: batch}); err != nil {
		t.Fatal(err)
	}
	all := tn.allGroupMessages(ctx, g)
	if len(all) != 250 {
		t.Fatalf("ascending paging found %d messages, want 250", len(all))
	}
	for i, m := range all {
		if i > 0 && m.GetId() <= all[i-1].GetId() {
			t.Fatalf("ids not increasing at %d", i)
		}
		want := fmt.Sprintf("m%d", i)
		if !bytes.Contains(m.GetData(), []byte(want)) || !bytes.Equal(m.GetGroupId(), g) || m.GetIsCommit() != (i%10 == 0) ||
			m.GetCreatedNs() == 0 || !m.GetShouldPush() || len(m.GetSenderHmac()) != 32 {
			t.Fatalf("message %d = %v", i, m)
		}
	}

	// No paging info: descending, 100, cursor of the last row on a full page.
	resp, err := tn.mls.QueryGroupMessages(ctx, &mlsapi.QueryGroupMessagesRequest{GroupId: g})
	if err != nil {
		t.Fatal(err)
	}
	pi := resp.GetPagingInfo()
	if len(resp.GetMessages()) != 100 || resp.GetMessages()[0].GetV1().GetId() != all[249].GetId() ||
		pi.GetDirection() != mlsapi.SortDirection_SORT_DIRECTION_DESCENDING || pi.GetLimit() != 100 ||
		pi.GetIdCursor() != all[150].GetId() {
		t.Fatalf("default query: %d messages, paging %v", len(resp.GetMessages()), pi)
	}
	// Descending from that cursor (exclusive), limit above 100 means 100;
	// then the last partial page has id_cursor 0.
	var desc []uint64
	cursor := pi.GetIdCursor()
	for _, want := range []int{100, 50} {
		resp, err = tn.mls.QueryGroupMessages(ctx, &mlsapi.QueryGroupMessagesRequest{GroupId: g,
			PagingInfo: &mlsapi.PagingInfo{Direction: mlsapi.SortDirection_SORT_DIRECTION_DESCENDING, Limit: 500, IdCursor: cursor}})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetMessages()) != want || resp.GetPagingInfo().GetLimit() != 100 {
			t.Fatalf("descending page: %d messages (want %d), paging %v", len(resp.GetMessages()), want, resp.GetPagingInfo())
		}
		for _, m := range resp.GetMessages() {
			desc = append(desc, m.GetV1().GetId())
		}
		cursor = resp.GetPagingInfo().GetIdCursor()
	}
	if cursor != 0 {
		t.Fatalf("partial page has id_cursor %d, want 0", cursor)
	}
	if desc[0] != all[149].GetId() || desc[149] != all[0].GetId() {
		t.Fatalf("descending pages start %d end %d", desc[0], desc[149])
	}
	// Ascending with a cursor and a small limit: exclusive, full page sets
	// the cursor.
	resp, err = tn.mls.QueryGroupMessages(ctx, &mlsapi.QueryGroupMessagesRequest{GroupId: g,
		PagingInfo: &mlsapi.PagingInfo{Direction: mlsapi.SortDirection_SORT_DIRECTION_ASCENDING, Limit: 2, IdCursor: all[10].GetId()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetMessages()) != 2 || resp.GetMessages()[0].GetV1().GetId() != all[11].GetId() || resp.GetPagingInfo().GetIdCursor() != all[12].GetId() {
		t.Fatalf("ascending limit 2: %v", resp)
	}
	// Latest-message lookup as libxmtp does it.
	resp, err = tn.mls.QueryGroupMessages(ctx, &mlsapi.QueryGroupMessagesRequest{GroupId: g,
		PagingInfo: &mlsapi.PagingInfo{Direction: mlsapi.SortDirection_SORT_DIRECTION_DESCENDING, Limit: 1}})
	if err != nil || len(resp.GetMessages()) != 1 || resp.GetMessages()[0].GetV1().GetId() != all[249].GetId() {
		t.Fatalf("latest: %v, %v", resp, err)
	}
	resp, err = tn.mls.QueryGroupMessages(ctx, &mlsapi.QueryGroupMessagesRequest{GroupId: []byte("nobody")})
	if err != nil || len(resp.GetMessages()) != 0 || resp.GetPagingInfo().GetIdCursor() != 0 {
		t.Fatalf("empty group: %v, %v", resp, err)
	}
	_, err = tn.mls.QueryGroupMessages(ctx, &mlsapi.QueryGroupMessagesRequest{})
	wantCode(t, err, codes.InvalidArgument)
}

func TestSendGroupMessagesRejectsInvalidAndStoresNothing(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	g := []byte("group-invalid")
	good := groupInput(privateMessage(t, g, mls.ContentTypeApplication, "good"))
	welcome := append([]byte{0, 1, 0, 3}, make([]byte, 16)...)
	public := func() []byte {
		b := privateMessage(t, g, mls.ContentTypeApplication, "x")
		b[3] = 1 // claims PublicMessage: the body no longer parses
		return b
	}()
	wrongVersion := privateMessage(t, g, mls.ContentTypeApplication, "v")
	wrongVersion[1] = 2
	trailing := append(privateMessage(t, g, mls.ContentTypeApplication, "t"), 0)
	cases := map[string][]*mlsapi.GroupMessageInput{
		"empty list":      nil,
		"no version":      {good, {}},
		"garbage":         {good, groupInput([]byte("not mls at all"))},
		"empty data":      {good, groupInput(nil)},
		"welcome":         {good, groupInput(welcome)},
		"bad public":      {good, groupInput(public)},
		"wrong version":   {good, groupInput(wrongVersion)},
		"trailing bytes":  {good, groupInput(trailing)},
		"empty group id":  {good, groupInput(privateMessage(t, nil, mls.ContentTypeApplication, "e"))},
		"oversized":       {good, groupInput(append(privateMessage(t, g, mls.ContentTypeApplication, ""), make([]byte, MaxPayloadBytes)...))},
		"truncated frame": {good, groupInput(privateMessage(t, g, mls.ContentTypeApplication, "long payload")[:12])},
	}
	for name, msgs := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := tn.mls.SendGroupMessages(ctx, &mlsapi.SendGroupMessagesRequest{Messages: msgs})
			wantCode(t, err, codes.InvalidArgument)
		})
	}
	if got := tn.allGroupMessages(ctx, g); len(got) != 0 {
		t.Fatalf("%d messages stored after rejected calls", len(got))
	}
	// The node is still up and accepts a good batch; duplicates are skipped.
	for range 2 {
		if _, err := tn.mls.SendGroupMessages(ctx, &mlsapi.SendGroupMessagesRequest{Messages: []*mlsapi.GroupMessageInput{good, good}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := tn.allGroupMessages(ctx, g); len(got) != 1 {
		t.Fatalf("%d messages stored, want 1 (duplicates skipped)", len(got))
	}
}

func TestGetNewestGroupMessage(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	g1, g2, none := []byte("g1"), []byte("g2"), []byte("none")
	tn.sendApp(ctx, g1, "x", 3)
	if _, err := tn.mls.SendGroupMessages(ctx, &mlsapi.SendGroupMessagesRequest{Messages: []*mlsapi.GroupMessageInput{
		groupInput(privateMessage(t, g2, mls.ContentTypeApplication, "a")),
		groupInput(privateMessage(t, g2, mls.ContentTypeCommit, "c")),
	}}); err != nil {
		t.Fatal(err)
	}
	resp, err := tn.mls.GetNewestGroupMessage(ctx, &mlsapi.GetNewestGroupMessageRequest{GroupIds: [][]byte{g2, none, g1}})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.GetResponses()
	if len(r) != 3 || r[1].GroupMessage != nil {
		t.Fatalf("responses %v", r)
	}
	m2 := r[0].GetGroupMessage().GetV1()
	if !m2.GetIsCommit() || !bytes.Equal(m2.GetGroupId(), g2) || m2.GetData() != nil || m2.GetId() == 0 || m2.GetCreatedNs() == 0 {
		t.Fatalf("newest of g2 = %v", m2)
	}
	if all := tn.allGroupMessages(ctx, g1); r[2].GetGroupMessage().GetV1().GetId() != all[2].GetId() || r[2].GetGroupMessage().GetV1().GetIsCommit() {
		t.Fatalf("newest of g1 = %v", r[2])
	}
	resp, err = tn.mls.GetNewestGroupMessage(ctx, &mlsapi.GetNewestGroupMessageRequest{GroupIds: [][]byte{g2}, IncludeContent: true})
	if err != nil || resp.GetResponses()[0].GetGroupMessage().GetV1().GetData() == nil {
		t.Fatalf("with content: %v, %v", resp, err)
	}
	_, err = tn.mls.GetNewestGroupMessage(ctx, &mlsapi.GetNewestGroupMessageRequest{})
	wantCode(t, err, codes.InvalidArgument)
}

func welcomeV1(key []byte, data string, alg content.WelcomeWrapperAlgorithm) *mlsapi.WelcomeMessageInput {
	return &mlsapi.WelcomeMessageInput{Version: &mlsapi.WelcomeMessageInput_V1_{V1: &mlsapi.WelcomeMessageInput_V1{
		InstallationKey: key, Data: []byte(data), HpkePublicKey: bytes.Repeat([]byte{7}, 32), WrapperAlgorithm: alg,
		WelcomeMetadata: []byte("meta")}}}
}

func welcomePointer(key []byte, data string, alg content.WelcomePointerWrapperAlgorithm) *mlsapi.WelcomeMessageInput {
	return &mlsapi.WelcomeMessageInput{Version: &mlsapi.WelcomeMessageInput_WelcomePointer_{WelcomePointer: &mlsapi.WelcomeMessageInput_WelcomePointer{
		InstallationKey: key, WelcomePointer: []byte(data), HpkePublicKey: []byte("xwing"), WrapperAlgorithm: alg}}}
}

func TestWelcomeMessages(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	inst := bytes.Repeat([]byte{1}, 32)
	xwing := content.WelcomePointerWrapperAlgorithm_WELCOME_POINTER_WRAPPER_ALGORITHM_XWING_MLKEM_768_DRAFT_6
	bad := map[string][]*mlsapi.WelcomeMessageInput{
		"empty list":        nil,
		"no version":        {{}},
		"no key":            {welcomeV1(nil, "w", 1)},
		"no data":           {welcomeV1(inst, "", 1)},
		"no hpke key":       {{Version: &mlsapi.WelcomeMessageInput_V1_{V1: &mlsapi.WelcomeMessageInput_V1{InstallationKey: inst, Data: []byte("d"), WrapperAlgorithm: 1}}}},
		"pointer curve":     {welcomeV1(inst, "ok", 1), welcomePointer(inst, "p", 0)},
		"pointer no data":   {welcomePointer(inst, "", xwing)},
		"pointer no key":    {welcomePointer(nil, "p", xwing)},
		"pointer no hpke":   {{Version: &mlsapi.WelcomeMessageInput_WelcomePointer_{WelcomePointer: &mlsapi.WelcomeMessageInput_WelcomePointer{InstallationKey: inst, WelcomePointer: []byte("p"), WrapperAlgorithm: xwing}}}},
		"oversized welcome": {welcomeV1(inst, string(make([]byte, MaxPayloadBytes+1)), 1)},
	}
	for name, msgs := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := tn.mls.SendWelcomeMessages(ctx, &mlsapi.SendWelcomeMessagesRequest{Messages: msgs})
			wantCode(t, err, codes.InvalidArgument)
		})
	}
	dest := bytes.Repeat([]byte{2}, 32)
	symmetric := &mlsapi.WelcomeMessageInput{Version: &mlsapi.WelcomeMessageInput_V1_{V1: &mlsapi.WelcomeMessageInput_V1{
		InstallationKey: dest, Data: []byte("pointee"), WrapperAlgorithm: content.WelcomeWrapperAlgorithm_WELCOME_WRAPPER_ALGORITHM_SYMMETRIC_KEY}}}
	msgs := []*mlsapi.WelcomeMessageInput{symmetric, welcomeV1(inst, "w1", 0), welcomePointer(inst, "ptr", xwing), welcomeV1(inst, "w1", 0)}
	if _, err := tn.mls.SendWelcomeMessages(ctx, &mlsapi.SendWelcomeMessagesRequest{Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	resp, err := tn.mls.QueryWelcomeMessages(ctx, &mlsapi.QueryWelcomeMessagesRequest{InstallationKey: inst,
		PagingInfo: &mlsapi.PagingInfo{Direction: mlsapi.SortDirection_SORT_DIRECTION_ASCENDING}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetMessages()) != 2 {
		t.Fatalf("%d welcomes, want 2 (duplicate skipped, pointee elsewhere)", len(resp.GetMessages()))
	}
	v1 := resp.GetMessages()[0].GetV1()
	if string(v1.GetData()) != "w1" || v1.GetWrapperAlgorithm() != content.WelcomeWrapperAlgorithm_WELCOME_WRAPPER_ALGORITHM_CURVE25519 ||
		string(v1.GetWelcomeMetadata()) != "meta" || len(v1.GetHpkePublicKey()) != 32 || !bytes.Equal(v1.GetInstallationKey(), inst) {
		t.Fatalf("v1 welcome = %v", v1)
	}
	p := resp.GetMessages()[1].GetWelcomePointer()
	if string(p.GetWelcomePointer()) != "ptr" || p.GetWrapperAlgorithm() != xwing || p.GetId() <= v1.GetId() {
		t.Fatalf("pointer = %v", p)
	}
	resp, err = tn.mls.QueryWelcomeMessages(ctx, &mlsapi.QueryWelcomeMessagesRequest{InstallationKey: dest})
	if err != nil || len(resp.GetMessages()) != 1 || resp.GetMessages()[0].GetV1().GetWrapperAlgorithm() != content.WelcomeWrapperAlgorithm_WELCOME_WRAPPER_ALGORITHM_SYMMETRIC_KEY {
		t.Fatalf("pointee: %v, %v", resp, err)
	}
	_, err = tn.mls.QueryWelcomeMessages(ctx, &mlsapi.QueryWelcomeMessagesRequest{})
	wantCode(t, err, codes.InvalidArgument)
}

func TestKeyPackages(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	inbox := testInbox(t)
	priv, _, err := testSuite.GenerateSignatureKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	kp1, inst := newKeyPackage(t, keyPackageSpec{inbox: inbox, sigPriv: priv})
	kp2, inst2 := newKeyPackage(t, keyPackageSpec{inbox: inbox, sigPriv: priv})
	if !bytes.Equal(inst, inst2) {
		t.Fatal("same signature key gave different installation keys")
	}
	upload := func(kp []byte) error {
		_, err := tn.mls.UploadKeyPackage(ctx, &mlsapi.UploadKeyPackageRequest{
			KeyPackage: &mlsapi.KeyPackageUpload{KeyPackageTlsSerialized: kp}, IsInboxIdCredential: true})
		return err
	}
	fetch := func(keys ...[]byte) [][]byte {
		resp, err := tn.mls.FetchKeyPackages(ctx, &mlsapi.FetchKeyPackagesRequest{InstallationKeys: keys})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetKeyPackages()) != len(keys) {
			t.Fatalf("%d key packages for %d keys", len(resp.GetKeyPackages()), len(keys))
		}
		var out [][]byte
		for _, kp := range resp.GetKeyPackages() {
			out = append(out, kp.GetKeyPackageTlsSerialized())
		}
		return out
	}
	if err := upload(kp1); err != nil {
		t.Fatal(err)
	}
	unknown := bytes.Repeat([]byte{9}, 32)
	if got := fetch(unknown, inst); len(got[0]) != 0 || !bytes.Equal(got[1], kp1) {
		t.Fatalf("fetch after upload = %x", got)
	}
	// Rotation: the latest upload replaces the previous one.
	if err := upload(kp2); err != nil {
		t.Fatal(err)
	}
	if got := fetch(inst); !bytes.Equal(got[0], kp2) {
		t.Fatal("fetch after rotation returned the old key package")
	}
	if n, err := tn.storage().KeyPackageHistoryLen(ctx, inst); err != nil || n != 2 {
		t.Fatalf("history %d, %v", n, err)
	}
	resp, err := tn.mls.RegisterInstallation(ctx, &mlsapi.RegisterInstallationRequest{KeyPackage: &mlsapi.KeyPackageUpload{KeyPackageTlsSerialized: kp2}})
	if err != nil || !bytes.Equal(resp.GetInstallationKey(), inst) {
		t.Fatalf("RegisterInstallation = %v, %v", resp, err)
	}

	now := uint64(time.Now().Unix())
	cases := map[string]func() []byte{
		"empty":         func() []byte { return nil },
		"garbage":       func() []byte { return []byte("garbage") },
		"trailing":      func() []byte { b, _ := newKeyPackage(t, keyPackageSpec{inbox: inbox}); return append(b, 0) },
		"bad signature": func() []byte { b, _ := newKeyPackage(t, keyPackageSpec{inbox: inbox, tamper: true}); return b },
		"expired": func() []byte {
			b, _ := newKeyPackage(t, keyPackageSpec{inbox: inbox, lifetime: &mls.Lifetime{NotBefore: now - 7200, NotAfter: now - 3600}})
			return b
		},
		"not yet valid": func() []byte {
			b, _ := newKeyPackage(t, keyPackageSpec{inbox: inbox, lifetime: &mls.Lifetime{NotBefore: now + 3600, NotAfter: now + 7200}})
			return b
		},
		"wrong inbox":      func() []byte { b, _ := newKeyPackage(t, keyPackageSpec{inbox: "not-an-inbox"}); return b },
		"not a credential": func() []byte { b, _ := newKeyPackage(t, keyPackageSpec{credential: []byte{0xff, 0xff}}); return b },
		"unlisted ext":     func() []byte { b, _ := newKeyPackage(t, keyPackageSpec{inbox: inbox, unlisted: true}); return b },
		"oversized":        func() []byte { return make([]byte, MaxPayloadBytes+1) },
	}
	for name, kp := range cases {
		t.Run(name, func(t *testing.T) {
			wantCode(t, upload(kp()), codes.InvalidArgument)
		})
	}
	_, err = tn.mls.UploadKeyPackage(ctx, &mlsapi.UploadKeyPackageRequest{})
	wantCode(t, err, codes.InvalidArgument)
	if got := fetch(inst); !bytes.Equal(got[0], kp2) {
		t.Fatal("a rejected upload changed the stored key package")
	}
}

func TestCommitLog(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	g := []byte("commit-log-group")
	sig := &association.RecoverableEd25519Signature{Bytes: make([]byte, 64), PublicKey: make([]byte, 32)}
	entry := func(i int) *mlsapi.PublishCommitLogRequest {
		return &mlsapi.PublishCommitLogRequest{GroupId: g, SerializedCommitLogEntry: []byte{byte(i)}, Signature: sig}
	}
	var batch []*mlsapi.PublishCommitLogRequest
	for i := range 10 {
		batch = append(batch, entry(i))
	}
	if _, err := tn.mls.BatchPublishCommitLog(ctx, &mlsapi.BatchPublishCommitLogRequest{Requests: batch}); err != nil {
		t.Fatal(err)
	}
	for name, reqs := range map[string][]*mlsapi.PublishCommitLogRequest{
		"none":         nil,
		"eleven":       append(batch, entry(10)),
		"no group":     {{SerializedCommitLogEntry: []byte{1}, Signature: sig}},
		"no entry":     {{GroupId: g, Signature: sig}},
		"no signature": {{GroupId: g, SerializedCommitLogEntry: []byte{1}}},
	} {
		_, err := tn.mls.BatchPublishCommitLog(ctx, &mlsapi.BatchPublishCommitLogRequest{Requests: reqs})
		if got := codes.Code(0); err == nil {
			t.Errorf("%s: accepted (%v)", name, got)
		} else {
			wantCode(t, err, codes.InvalidArgument)
		}
	}
	q := func(cursor uint64, limit uint32) *mlsapi.QueryCommitLogRequest {
		return &mlsapi.QueryCommitLogRequest{GroupId: g, PagingInfo: &mlsapi.PagingInfo{Limit: limit, IdCursor: cursor}}
	}
	resp, err := tn.mls.BatchQueryCommitLog(ctx, &mlsapi.BatchQueryCommitLogRequest{Requests: []*mlsapi.QueryCommitLogRequest{
		q(0, 4), {GroupId: []byte("empty")}, q(0, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.GetResponses()
	if len(r) != 3 || len(r[0].GetCommitLogEntries()) != 4 || len(r[1].GetCommitLogEntries()) != 0 || len(r[2].GetCommitLogEntries()) != 10 {
		t.Fatalf("responses %v", r)
	}
	first := r[0].GetCommitLogEntries()
	if !bytes.Equal(r[0].GetGroupId(), g) || r[0].GetPagingInfo().GetIdCursor() != first[3].GetSequenceId() ||
		first[1].GetSequenceId() <= first[0].GetSequenceId() || first[2].GetSerializedCommitLogEntry()[0] != 2 ||
		len(first[0].GetSignature().GetBytes()) != 64 {
		t.Fatalf("first response %v", r[0])
	}
	if r[2].GetPagingInfo().GetIdCursor() != 0 {
		t.Fatalf("partial page cursor %d", r[2].GetPagingInfo().GetIdCursor())
	}
	resp, err = tn.mls.BatchQueryCommitLog(ctx, &mlsapi.BatchQueryCommitLogRequest{Requests: []*mlsapi.QueryCommitLogRequest{q(first[3].GetSequenceId(), 0)}})
	if err != nil || len(resp.GetResponses()[0].GetCommitLogEntries()) != 6 {
		t.Fatalf("after cursor: %v, %v", resp, err)
	}
	desc := q(0, 0)
	desc.PagingInfo.Direction = mlsapi.SortDirection_SORT_DIRECTION_DESCENDING
	many := make([]*mlsapi.QueryCommitLogRequest, 21)
	for i := range many {
		many[i] = q(0, 0)
	}
	for name, reqs := range map[string][]*mlsapi.QueryCommitLogRequest{"none": nil, "descending": {desc}, "21": many, "no group": {{}}} {
		_, err := tn.mls.BatchQueryCommitLog(ctx, &mlsapi.BatchQueryCommitLogRequest{Requests: reqs})
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		wantCode(t, err, codes.InvalidArgument)
	}
}

func TestUnimplemented(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	_, err := tn.mls.RevokeInstallation(ctx, &mlsapi.RevokeInstallationRequest{})
	wantCode(t, err, codes.Unimplemented)
	_, err = tn.mls.GetIdentityUpdates(ctx, &mlsapi.GetIdentityUpdatesRequest{})
	wantCode(t, err, codes.Unimplemented)
}

func TestRestartKeepsMessagesAndIds(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	g := []byte("restart-group")
	tn.sendApp(ctx, g, "before", 5)
	before := tn.allGroupMessages(ctx, g)
	path := tn.path
	tn.stop()

	tn2 := startTestNode(t, path, Config{})
	tn2.sendApp(ctx, g, "after", 3)
	after := tn2.allGroupMessages(ctx, g)
	if len(after) != 8 {
		t.Fatalf("%d messages after restart, want 8", len(after))
	}
	for i, m := range before {
		if after[i].GetId() != m.GetId() || !bytes.Equal(after[i].GetData(), m.GetData()) {
			t.Fatalf("message %d changed across restart", i)
		}
	}
	if after[5].GetId() <= before[4].GetId() {
		t.Fatalf("id after restart %d not above %d", after[5].GetId(), before[4].GetId())
	}
}

// TestStorageIDsBelowSignedRange checks the cursor clamp: a cursor at or
// above 2^63 means "after everything" rather than failing.
func TestHugeCursor(t *testing.T) {
	ctx := ctxT(t)
	tn := startTestNode(t, "", Config{})
	g := []byte("huge")
	tn.sendApp(ctx, g, "m", 2)
	resp, err := tn.mls.QueryGroupMessages(ctx, &mlsapi.QueryGroupMessagesRequest{GroupId: g,
		PagingInfo: &mlsapi.PagingInfo{Direction: mlsapi.SortDirection_SORT_DIRECTION_ASCENDING, IdCursor: 1 << 63}})
	if err != nil || len(resp.GetMessages()) != 0 {
		t.Fatalf("ascending after 2^63: %v, %v", resp, err)
	}
	resp, err = tn.mls.QueryGroupMessages(ctx, &mlsapi.QueryGroupMessagesRequest{GroupId: g,
		PagingInfo: &mlsapi.PagingInfo{IdCursor: 1<<64 - 1}})
	if err != nil || len(resp.GetMessages()) != 2 {
		t.Fatalf("descending before 2^64-1: %v, %v", resp, err)
	}
}

var _ = metadata.MD{}
var _ = storage.MaxPageSize
var _ context.Context
