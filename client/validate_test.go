package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/wire/content"
	"mlsbridge/wire/prost"
)

// testdata/prost-extensions.txt holds inputs for the decoders of the group
// state protobufs and what prost made of them: one line per input,
// "<kind> <hex> <canonical form or ERR>", kind mem (GroupMembership), mut
// (GroupMutableMetadataV1) or imm (GroupMetadataV1). The answers come from
// testdata/prostcheck, a small Rust program declaring the three messages
// with prost's derive, built like policy/testdata/prostcheck (Debian's
// prost 0.11.6; cargo with the registry replaced by
// /usr/share/cargo/registry). Regenerate with
//
//	go test ./client -run TestProstExtensionsCorpus -update-prost-extensions -prostcheck-extensions=/path/to/prostcheck-extensions
var (
	updateProstExt = flag.Bool("update-prost-extensions", false, "rewrite testdata/prost-extensions.txt")
	prostcheckExt  = flag.String("prostcheck-extensions", "", "path of the prost-based decoder that answers for testdata/prost-extensions.txt")
)

const prostExtCorpus = "testdata/prost-extensions.txt"

// extKinds are the corpus kinds with their decoders, rendered as the Rust
// checker prints them.
var extKinds = map[string]func([]byte) string{
	"mem": func(b []byte) string { m, err := decodeMembership(b); return canonMembership(m, err) },
	"mut": func(b []byte) string { m, err := decodeMutableMetadata(b); return canonMutable(m, err) },
	"imm": func(b []byte) string { m, err := decodeImmutableMetadata(b); return canonImmutable(m, err) },
}

func hexString(s string) string { return hex.EncodeToString([]byte(s)) }

func canonMembership(m *content.GroupMembership, err error) string {
	if err != nil {
		return "ERR"
	}
	var members []string
	for _, k := range sortedStringKeys(m.GetMembers()) {
		members = append(members, fmt.Sprintf("%s=%d", hexString(k), m.GetMembers()[k]))
	}
	var failed []string
	for _, f := range m.GetFailedInstallations() {
		failed = append(failed, hex.EncodeToString(f))
	}
	return fmt.Sprintf("members=[%s] failed=[%s]", strings.Join(members, ","), strings.Join(failed, ","))
}

func canonInboxes(l *content.Inboxes) string {
	if l == nil {
		return "-"
	}
	var ids []string
	for _, id := range l.GetInboxIds() {
		ids = append(ids, hexString(id))
	}
	return "[" + strings.Join(ids, ",") + "]"
}

func canonMutable(m *content.GroupMutableMetadataV1, err error) string {
	if err != nil {
		return "ERR"
	}
	var attrs []string
	for _, k := range sortedStringKeys(m.GetAttributes()) {
		attrs = append(attrs, hexString(k)+"="+hexString(m.GetAttributes()[k]))
	}
	return fmt.Sprintf("attrs=[%s] admins=%s supers=%s", strings.Join(attrs, ","), canonInboxes(m.GetAdminList()), canonInboxes(m.GetSuperAdminList()))
}

func canonInbox(in *content.Inbox) string {
	if in == nil {
		return "-"
	}
	return hexString(in.GetInboxId())
}

func canonImmutable(m *content.GroupMetadataV1, err error) string {
	if err != nil {
		return "ERR"
	}
	dm := "-"
	if d := m.GetDmMembers(); d != nil {
		dm = fmt.Sprintf("(%s,%s)", canonInbox(d.GetDmMemberOne()), canonInbox(d.GetDmMemberTwo()))
	}
	oneshot := "-"
	if o := m.GetOneshotMessage(); o != nil {
		oneshot = "(-)"
		if r := o.GetReaddRequest(); r != nil {
			oneshot = fmt.Sprintf("((%x,%d))", r.GetGroupId(), r.GetLatestCommitSequenceId())
		}
	}
	return fmt.Sprintf("type=%d addr=%s creator=%s dm=%s oneshot=%s", int32(m.GetConversationType()),
		hexString(m.GetCreatorAccountAddress()), hexString(m.GetCreatorInboxId()), dm, oneshot)
}

func sortedStringKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestProstExtensionsCorpus(t *testing.T) {
	var corpus string
	if *prostcheckExt != "" {
		corpus = regenerateProstExtCorpus(t)
	} else {
		b, err := os.ReadFile(prostExtCorpus)
		if err != nil {
			t.Fatalf("read %s: %v", prostExtCorpus, err)
		}
		corpus = string(b)
	}
	n, accepted := map[string]int{}, map[string]int{}
	for line := range strings.Lines(corpus) {
		f := strings.SplitN(strings.TrimSuffix(line, "\n"), " ", 3)
		if len(f) != 3 || extKinds[f[0]] == nil {
			t.Fatalf("bad corpus line %q", line)
		}
		b, err := hex.DecodeString(f[1])
		if err != nil {
			t.Fatal(err)
		}
		n[f[0]]++
		if got := extKinds[f[0]](b); got != f[2] {
			t.Errorf("%s %s\n got %s\nwant %s", f[0], f[1], got, f[2])
		}
		if ref := refCanonical(f[0], b); ref != f[2] {
			t.Errorf("reference model: %s %s\n got %s\nwant %s", f[0], f[1], ref, f[2])
		}
		if f[2] != "ERR" {
			accepted[f[0]]++
		}
	}
	for k := range extKinds {
		if n[k] < 1000 || accepted[k] < 300 || n[k]-accepted[k] < 300 {
			t.Errorf("corpus has %d %s inputs, %d accepted; want at least 1000, with 300 accepted and 300 refused", n[k], k, accepted[k])
		}
	}
}

// regenerateProstExtCorpus asks the prost checker about the generated
// inputs and returns the golden text, writing it with
// -update-prost-extensions.
func regenerateProstExtCorpus(t *testing.T) string {
	type input struct {
		kind string
		b    []byte
	}
	var inputs []input
	var in bytes.Buffer
	for _, kind := range []string{"mem", "mut", "imm"} {
		for _, b := range extInputs(kind) {
			inputs = append(inputs, input{kind, b})
			fmt.Fprintf(&in, "%s %x\n", kind, b)
		}
	}
	cmd := exec.Command(*prostcheckExt)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run %s: %v", *prostcheckExt, err)
	}
	answers := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(answers) != len(inputs) {
		t.Fatalf("%d answers for %d inputs", len(answers), len(inputs))
	}
	var golden strings.Builder
	for i, x := range inputs {
		fmt.Fprintf(&golden, "%s %x %s\n", x.kind, x.b, answers[i])
	}
	if *updateProstExt {
		if err := os.WriteFile(prostExtCorpus, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return golden.String()
}

// extInputs builds the corpus of one kind: structured random messages
// (clean ones and ones with wrong wire types, bad UTF-8, odd map entries,
// unknown fields and groups, repeats) and byte-level mutations of them.
func extInputs(kind string) [][]byte {
	r := rand.New(rand.NewPCG(7, uint64(kind[0])<<16|uint64(kind[1])<<8|uint64(kind[2])))
	var out, structured [][]byte
	seen := map[string]bool{}
	add := func(b []byte) {
		if len(b) <= 600 && !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, slices.Clone(b))
		}
	}
	add(nil)
	for n := 98; n <= 102; n++ { // unknown groups around prost's recursion limit
		var b []byte
		for range n {
			b = protowire.AppendTag(b, 9, protowire.StartGroupType)
		}
		for range n {
			b = protowire.AppendTag(b, 9, protowire.EndGroupType)
		}
		add(b)
		if kind == "mut" { // and inside a message field
			add(protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), b))
		}
	}
	for i := range 1100 {
		g := extGen{r: r, clean: i%2 == 0}
		var b []byte
		switch kind {
		case "mem":
			b = g.membership()
		case "mut":
			b = g.mutable()
		default:
			b = g.immutable()
		}
		structured = append(structured, b)
		add(b)
	}
	g := extGen{r: r}
	for range 500 {
		add(g.mutate(structured[r.IntN(len(structured))]))
	}
	return out
}

// extGen makes random bytes shaped like the three messages. A clean gen
// makes only what prost accepts, but with unknown fields, repeats and
// merges.
type extGen struct {
	r     *rand.Rand
	clean bool
}

func (g extGen) chance(p float64) bool { return g.r.Float64() < p }

func (g extGen) flaw(p float64) bool { return !g.clean && g.chance(p) }

// bytesField appends a length-delimited field, sometimes (flaw) with
// another wire type.
func (g extGen) bytesField(b []byte, num protowire.Number, body []byte) []byte {
	if g.flaw(0.04) {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.Type(g.r.IntN(6))), body)
	}
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), body)
}

// varintField appends a varint field, sometimes (flaw) length-delimited.
func (g extGen) varintField(b []byte, num protowire.Number, v uint64) []byte {
	if g.flaw(0.04) {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), protowire.AppendVarint(nil, v))
	}
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

func (g extGen) str() string {
	vals := []string{"", "a", "group_name", "é", "3ba8d247d9a07f0c19f10276441935842997b6240eb8488a9896eb808353290f", "0x5a0b54d5dc17e0aadc383d2db43b0a0d3e029c4c"}
	if !g.clean {
		vals = append(vals, "\xff", "ok\xc3")
	}
	return vals[g.r.IntN(len(vals))]
}

func (g extGen) varint() uint64 {
	vals := []uint64{0, 1, 2, 3, 4, 127, 128, 1 << 32, 1<<32 | 1, 1<<64 - 1}
	return vals[g.r.IntN(len(vals))]
}

// mapEntry appends a map field's entry: key and value in any order, either
// missing, repeated, or with unknown fields; the field key sometimes says
// another wire type (prost reads an entry anyway).
func (g extGen) mapEntry(b []byte, num protowire.Number, value func([]byte) []byte) []byte {
	var e []byte
	keyFirst := g.chance(0.8)
	if !keyFirst && g.chance(0.9) {
		e = value(e)
	}
	if g.chance(0.9) {
		e = g.bytesField(e, 1, []byte(g.str()))
	}
	if keyFirst && g.chance(0.9) {
		e = value(e)
	}
	if g.chance(0.05) {
		e = g.bytesField(e, 1, []byte(g.str()))
	}
	if g.chance(0.05) {
		e = g.unknown(e)
	}
	typ := protowire.BytesType
	if g.chance(0.05) {
		typ = protowire.Type(g.r.IntN(6))
	}
	return protowire.AppendBytes(protowire.AppendTag(b, num, typ), e)
}

func (g extGen) membership() []byte {
	var b []byte
	for range g.r.IntN(5) {
		if g.chance(0.15) {
			b = g.unknown(b)
		}
		if g.chance(0.7) {
			b = g.mapEntry(b, 1, func(e []byte) []byte { return g.varintField(e, 2, g.varint()) })
		} else {
			inst := make([]byte, []int{32, 32, 0, 5}[g.r.IntN(4)])
			for i := range inst {
				inst[i] = byte(g.r.IntN(256))
			}
			b = g.bytesField(b, 2, inst)
		}
	}
	return b
}

func (g extGen) inboxes() []byte {
	var b []byte
	for range g.r.IntN(4) {
		b = g.bytesField(b, 1, []byte(g.str()))
	}
	if g.chance(0.1) {
		b = g.unknown(b)
	}
	return b
}

func (g extGen) mutable() []byte {
	var b []byte
	for range g.r.IntN(6) {
		switch k := g.r.IntN(10); {
		case k < 5:
			b = g.mapEntry(b, 1, func(e []byte) []byte { return g.bytesField(e, 2, []byte(g.str())) })
		case k < 7:
			b = g.bytesField(b, 2, g.inboxes())
		case k < 9:
			b = g.bytesField(b, 3, g.inboxes())
		default:
			b = g.unknown(b)
		}
	}
	return b
}

func (g extGen) inbox() []byte {
	b := g.bytesField(nil, 1, []byte(g.str()))
	if g.chance(0.1) {
		b = g.unknown(b)
	}
	return b
}

func (g extGen) immutable() []byte {
	var b []byte
	for range 1 + g.r.IntN(5) {
		switch k := g.r.IntN(12); {
		case k < 3:
			b = g.varintField(b, 1, g.varint())
		case k < 5:
			b = g.bytesField(b, protowire.Number(2+g.r.IntN(2)), []byte(g.str()))
		case k < 8:
			var dm []byte
			if g.chance(0.8) {
				dm = g.bytesField(dm, 1, g.inbox())
			}
			if g.chance(0.8) {
				dm = g.bytesField(dm, 2, g.inbox())
			}
			b = g.bytesField(b, 4, dm)
		case k < 10:
			var o []byte
			if g.chance(0.8) {
				var rr []byte
				if g.chance(0.8) {
					rr = g.bytesField(rr, 1, []byte(g.str()))
				}
				if g.chance(0.8) {
					rr = g.varintField(rr, 2, g.varint())
				}
				o = g.bytesField(o, 1, rr)
			}
			b = g.bytesField(b, 5, o)
		default:
			b = g.unknown(b)
		}
	}
	return b
}

// unknown appends a field these messages do not declare (number 6 to 9;
// for a clean gen never a stray end-group or a mismatched group).
func (g extGen) unknown(b []byte) []byte {
	num := protowire.Number(6 + g.r.IntN(4))
	kinds := 6
	if g.clean {
		kinds = 5
	}
	switch g.r.IntN(kinds) {
	case 0:
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), g.r.Uint64())
	case 1:
		return protowire.AppendFixed32(protowire.AppendTag(b, num, protowire.Fixed32Type), g.r.Uint32())
	case 2:
		return protowire.AppendFixed64(protowire.AppendTag(b, num, protowire.Fixed64Type), g.r.Uint64())
	case 3:
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), []byte("xyz"))
	case 4:
		b = protowire.AppendTag(b, num, protowire.StartGroupType)
		b = protowire.AppendVarint(protowire.AppendTag(b, 1, protowire.VarintType), 1)
		end := num
		if g.flaw(0.2) {
			end++
		}
		return protowire.AppendTag(b, end, protowire.EndGroupType)
	}
	return protowire.AppendTag(b, num, protowire.EndGroupType)
}

func (g extGen) mutate(b []byte) []byte {
	b = slices.Clone(b)
	if len(b) == 0 {
		return []byte{byte(g.r.IntN(256))}
	}
	switch g.r.IntN(4) {
	case 0:
		b[g.r.IntN(len(b))] ^= byte(1 << g.r.IntN(8))
	case 1:
		b[g.r.IntN(len(b))] = byte(g.r.IntN(256))
	case 2:
		return b[:g.r.IntN(len(b))]
	default:
		return slices.Insert(b, g.r.IntN(len(b)+1), byte(g.r.IntN(256)))
	}
	return b
}

// The reference model: prost's decoding rules written out once more, as
// plainly as possible and without package prost, for the fuzz target to
// compare the decoders against. A message is decoded into a refValue
// following a schema of field kinds.

type refKind int

const (
	refString refKind = iota
	refBytes
	refUint64
	refInt32
	refMessage
	refRepeatedString
	refRepeatedBytes
	refMapStringString
	refMapStringUint64
)

type refSchema map[uint64]refField

type refField struct {
	kind refKind
	sub  refSchema
}

type refValue struct {
	scalar map[uint64]any
	msg    map[uint64]*refValue
	rep    map[uint64][]any
	maps   map[uint64]map[string]any
}

func newRefValue() *refValue {
	return &refValue{scalar: map[uint64]any{}, msg: map[uint64]*refValue{}, rep: map[uint64][]any{}, maps: map[uint64]map[string]any{}}
}

var (
	refInboxSchema   = refSchema{1: {kind: refString}}
	refInboxesSchema = refSchema{1: {kind: refRepeatedString}}
	refSchemas       = map[string]refSchema{
		"mem": {1: {kind: refMapStringUint64}, 2: {kind: refRepeatedBytes}},
		"mut": {1: {kind: refMapStringString}, 2: {kind: refMessage, sub: refInboxesSchema}, 3: {kind: refMessage, sub: refInboxesSchema}},
		"imm": {1: {kind: refInt32}, 2: {kind: refString}, 3: {kind: refString},
			4: {kind: refMessage, sub: refSchema{1: {kind: refMessage, sub: refInboxSchema}, 2: {kind: refMessage, sub: refInboxSchema}}},
			5: {kind: refMessage, sub: refSchema{1: {kind: refMessage, sub: refSchema{1: {kind: refBytes}, 2: {kind: refUint64}}}}}},
	}
	errRef = errors.New("refused")
)

// refVarint reads a varint: at most ten bytes, the tenth at most 1.
func refVarint(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < 10 && i < len(b); i++ {
		c := b[i]
		if i == 9 && c > 1 {
			return 0, 0, errRef
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errRef
}

// refLength reads a length prefix and the bytes it announces.
func refLength(b []byte) ([]byte, int, error) {
	l, n, err := refVarint(b)
	if err != nil || l > uint64(len(b)-n) {
		return nil, 0, errRef
	}
	return b[n : n+int(l)], n + int(l), nil
}

// refSkip skips an undeclared field's value; groups nest with the budget.
func refSkip(b []byte, wt, num uint64, depth int) (int, error) {
	if depth == 0 {
		return 0, errRef
	}
	switch wt {
	case 0:
		_, n, err := refVarint(b)
		return n, err
	case 1, 5:
		size := map[uint64]int{1: 8, 5: 4}[wt]
		if len(b) < size {
			return 0, errRef
		}
		return size, nil
	case 2:
		_, n, err := refLength(b)
		return n, err
	case 3:
		pos := 0
		for {
			k, n, err := refVarint(b[pos:])
			if err != nil || k > 0xffffffff || k&7 > 5 || k>>3 == 0 {
				return 0, errRef
			}
			pos += n
			if k&7 == 4 {
				if k>>3 != num {
					return 0, errRef
				}
				return pos, nil
			}
			m, err := refSkip(b[pos:], k&7, k>>3, depth-1)
			if err != nil {
				return 0, err
			}
			pos += m
		}
	}
	return 0, errRef
}

// refDecode merges the fields of b into v following schema.
func refDecode(b []byte, schema refSchema, depth int, v *refValue) error {
	for len(b) > 0 {
		k, n, err := refVarint(b)
		if err != nil || k > 0xffffffff || k&7 > 5 || k>>3 == 0 {
			return errRef
		}
		b = b[n:]
		wt, num := k&7, k>>3
		f, ok := schema[num]
		var used int
		switch {
		case !ok:
			used, err = refSkip(b, wt, num, depth)
		case f.kind == refMapStringString || f.kind == refMapStringUint64:
			used, err = refMapEntry(b, f.kind, num, depth, v)
		case f.kind == refMessage:
			if wt != 2 || depth == 0 {
				return errRef
			}
			var body []byte
			if body, used, err = refLength(b); err == nil {
				if v.msg[num] == nil {
					v.msg[num] = newRefValue()
				}
				err = refDecode(body, f.sub, depth-1, v.msg[num])
			}
		default:
			var val any
			val, used, err = refScalar(b, wt, f.kind)
			if err == nil && (f.kind == refRepeatedString || f.kind == refRepeatedBytes) {
				v.rep[num] = append(v.rep[num], val)
			} else if err == nil {
				v.scalar[num] = val
			}
		}
		if err != nil {
			return errRef
		}
		b = b[used:]
	}
	return nil
}

// refScalar reads a string, bytes or number value.
func refScalar(b []byte, wt uint64, kind refKind) (any, int, error) {
	switch kind {
	case refUint64, refInt32:
		if wt != 0 {
			return nil, 0, errRef
		}
		x, n, err := refVarint(b)
		if kind == refInt32 {
			return int32(x), n, err
		}
		return x, n, err
	}
	if wt != 2 {
		return nil, 0, errRef
	}
	body, n, err := refLength(b)
	if err != nil {
		return nil, 0, err
	}
	if kind == refBytes || kind == refRepeatedBytes {
		return slices.Clone(body), n, nil
	}
	if !utf8.Valid(body) {
		return nil, 0, errRef
	}
	return string(body), n, nil
}

// refMapEntry reads one map entry, whatever wire type its key said.
func refMapEntry(b []byte, kind refKind, num uint64, depth int, v *refValue) (int, error) {
	if depth == 0 {
		return 0, errRef
	}
	body, n, err := refLength(b)
	if err != nil {
		return 0, err
	}
	valKind := refString
	var val any = ""
	if kind == refMapStringUint64 {
		valKind, val = refUint64, uint64(0)
	}
	e := newRefValue()
	if err := refDecode(body, refSchema{1: {kind: refString}, 2: {kind: valKind}}, depth-1, e); err != nil {
		return 0, err
	}
	key, _ := e.scalar[1].(string)
	if x, ok := e.scalar[2]; ok {
		val = x
	}
	if v.maps[num] == nil {
		v.maps[num] = map[string]any{}
	}
	v.maps[num][key] = val
	return n, nil
}

// refCanonical decodes b with the reference model and renders it as the
// Rust checker does.
func refCanonical(kind string, b []byte) string {
	v := newRefValue()
	if err := refDecode(b, refSchemas[kind], prost.RecursionLimit, v); err != nil {
		return "ERR"
	}
	str := func(x any) string { s, _ := x.(string); return hexString(s) }
	switch kind {
	case "mem":
		var members, failed []string
		for _, k := range sortedStringKeys(v.maps[1]) {
			members = append(members, fmt.Sprintf("%s=%d", hexString(k), v.maps[1][k]))
		}
		for _, f := range v.rep[2] {
			failed = append(failed, hex.EncodeToString(f.([]byte)))
		}
		return fmt.Sprintf("members=[%s] failed=[%s]", strings.Join(members, ","), strings.Join(failed, ","))
	case "mut":
		var attrs []string
		for _, k := range sortedStringKeys(v.maps[1]) {
			attrs = append(attrs, hexString(k)+"="+str(v.maps[1][k]))
		}
		list := func(l *refValue) string {
			if l == nil {
				return "-"
			}
			var ids []string
			for _, id := range l.rep[1] {
				ids = append(ids, str(id))
			}
			return "[" + strings.Join(ids, ",") + "]"
		}
		return fmt.Sprintf("attrs=[%s] admins=%s supers=%s", strings.Join(attrs, ","), list(v.msg[2]), list(v.msg[3]))
	}
	typ, _ := v.scalar[1].(int32)
	dm := "-"
	if d := v.msg[4]; d != nil {
		one, two := "-", "-"
		if x := d.msg[1]; x != nil {
			one = str(x.scalar[1])
		}
		if x := d.msg[2]; x != nil {
			two = str(x.scalar[1])
		}
		dm = fmt.Sprintf("(%s,%s)", one, two)
	}
	oneshot := "-"
	if o := v.msg[5]; o != nil {
		oneshot = "(-)"
		if r := o.msg[1]; r != nil {
			gid, _ := r.scalar[1].([]byte)
			seq, _ := r.scalar[2].(uint64)
			oneshot = fmt.Sprintf("((%x,%d))", gid, seq)
		}
	}
	return fmt.Sprintf("type=%d addr=%s creator=%s dm=%s oneshot=%s", typ, str(v.scalar[2]), str(v.scalar[3]), dm, oneshot)
}

// FuzzProstExtensions feeds the three decoders the same bytes (the first
// byte picks which one leads) and checks each against the reference
// model; what a decoder accepts must also survive a round trip through
// the generated Go types: encoded deterministically, decoded again, it is
// the same message. Seeds are an eighth of the corpus.
func FuzzProstExtensions(f *testing.F) {
	corpus, err := os.ReadFile(prostExtCorpus)
	if err != nil {
		f.Fatalf("read %s: %v", prostExtCorpus, err)
	}
	i := 0
	for line := range strings.Lines(string(corpus)) {
		if i++; i%8 != 1 { // every eighth input: a quicker baseline
			continue
		}
		fields := strings.SplitN(line, " ", 3)
		b, err := hex.DecodeString(fields[1])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, kind := range []string{"mem", "mut", "imm"} {
			got, want := extKinds[kind](b), refCanonical(kind, b)
			if got != want {
				t.Fatalf("%s %x: decoder %s, reference %s", kind, b, got, want)
			}
		}
		prostRoundTrip(t, b, func(b []byte) (proto.Message, error) { return decodeMembership(b) })
		prostRoundTrip(t, b, func(b []byte) (proto.Message, error) { return decodeMutableMetadata(b) })
		prostRoundTrip(t, b, func(b []byte) (proto.Message, error) { return decodeImmutableMetadata(b) })
	})
}

// prostRoundTrip checks decode → deterministic encode → decode gives the same
// message and the same bytes again.
func prostRoundTrip(t *testing.T, b []byte, decode func([]byte) (proto.Message, error)) {
	t.Helper()
	m, err := decode(b)
	if err != nil {
		return
	}
	enc, err := deterministic.Marshal(m)
	if err != nil {
		t.Fatalf("encode %v: %v", m, err)
	}
	m2, err := decode(enc)
	if err != nil || !proto.Equal(m, m2) {
		t.Fatalf("%x decoded to %v, its encoding %x to %v (%v)", b, m, enc, m2, err)
	}
	if enc2, err := deterministic.Marshal(m2); err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("re-encoding is not stable: %x vs %x (%v)", enc, enc2, err)
	}
}

// pbTag, pbField, pbVarint and pbCat build protobuf bytes for the table
// tests.
func pbTag(num protowire.Number, typ protowire.Type) []byte {
	return protowire.AppendTag(nil, num, typ)
}

func pbField(num protowire.Number, body ...[]byte) []byte {
	return protowire.AppendBytes(pbTag(num, protowire.BytesType), bytes.Join(body, nil))
}

func pbVarint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(pbTag(num, protowire.VarintType), v)
}

func pbCat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestProstExtensionsTable: hand-made hostile encodings, with what prost
// makes of them; goAccepts says whether proto.Unmarshal accepts the bytes
// (where it does and prost does not, the old decoder would have forked
// the group).
func TestProstExtensionsTable(t *testing.T) {
	deep := func(n int) []byte { // n nested unknown groups, number 9
		var b []byte
		for range n {
			b = append(b, pbTag(9, protowire.StartGroupType)...)
		}
		for range n {
			b = append(b, pbTag(9, protowire.EndGroupType)...)
		}
		return b
	}
	member := func(k string, v uint64) []byte { return pbField(1, pbField(1, []byte(k)), pbVarint(2, v)) }
	attr := func(k, v string) []byte { return pbField(1, pbField(1, []byte(k)), pbField(2, []byte(v))) }
	tests := []struct {
		name, kind string
		in         []byte
		want       string // canonical form or ERR
		goAccepts  bool
	}{
		{"membership", "mem", pbCat(member("a", 3), pbField(2, []byte{1, 2})), "members=[61=3] failed=[0102]", true},
		{"membership duplicate key keeps the last", "mem", pbCat(member("a", 3), member("a", 5)), "members=[61=5] failed=[]", true},
		{"membership entry without value is 0", "mem", pbField(1, pbField(1, []byte("a"))), "members=[61=0] failed=[]", true},
		{"membership entry without key is \"\"", "mem", pbField(1, pbVarint(2, 4)), "members=[=4] failed=[]", true},
		{"membership entry key twice, last wins", "mem", pbField(1, pbField(1, []byte("a")), pbField(1, []byte("b")), pbVarint(2, 1)), "members=[62=1] failed=[]", true},
		{"membership entry unknown field skipped", "mem", pbField(1, pbField(1, []byte("a")), pbVarint(7, 9), pbVarint(2, 1)), "members=[61=1] failed=[]", true},
		{"membership value as bytes", "mem", pbField(1, pbField(1, []byte("a")), pbField(2, []byte{1})), "ERR", true},
		{"membership key not UTF-8", "mem", member("\xff", 1), "ERR", false},
		{"membership entry whose key says varint is still an entry", "mem", pbCat(protowire.AppendBytes(pbTag(1, protowire.VarintType), pbCat(pbField(1, []byte("a")), pbVarint(2, 2)))),
			"members=[61=2] failed=[]", false},
		{"membership entry whose key says fixed64", "mem", protowire.AppendBytes(pbTag(1, protowire.Fixed64Type), pbCat(pbField(1, []byte("a")), pbVarint(2, 2))),
			"members=[61=2] failed=[]", false},
		{"failed installation as varint", "mem", pbCat(member("a", 1), pbVarint(2, 7)), "ERR", true},
		{"unknown fields and groups skipped", "mem", pbCat(pbVarint(9, 1), deep(3), member("a", 1), protowire.AppendFixed32(pbTag(8, protowire.Fixed32Type), 1)),
			"members=[61=1] failed=[]", true},
		{"unknown groups 100 deep", "mem", deep(100), "members=[] failed=[]", true},
		{"unknown groups 101 deep exceed prost's limit", "mem", deep(101), "ERR", true},
		{"mismatched end group", "mem", pbCat(pbTag(9, protowire.StartGroupType), pbTag(8, protowire.EndGroupType)), "ERR", false},
		{"stray end group", "mem", pbTag(9, protowire.EndGroupType), "ERR", false},
		{"wire type 7", "mem", []byte{0x0f}, "ERR", false},
		{"field number 0", "mem", []byte{0x02, 0x00}, "ERR", false},
		{"key above 2^32", "mem", protowire.AppendVarint(nil, 1<<32|0x0a), "ERR", false},
		{"truncated", "mem", member("abc", 1)[:5], "ERR", false},

		{"mutable metadata", "mut", pbCat(attr("group_name", "x"), pbField(2), pbField(3, pbField(1, []byte("s")))), "attrs=[67726f75705f6e616d65=78] admins=[] supers=[73]", true},
		{"admin list repeated merges", "mut", pbCat(pbField(2, pbField(1, []byte("a"))), pbField(2, pbField(1, []byte("b")))), "attrs=[] admins=[61,62] supers=-", true},
		{"admin list as varint", "mut", pbCat(pbField(2), pbVarint(2, 1)), "ERR", true},
		{"super admin id as varint", "mut", pbField(3, pbVarint(1, 1)), "ERR", true},
		{"attribute value not UTF-8", "mut", attr("group_name", "\xff"), "ERR", false},
		{"attribute value as varint", "mut", pbField(1, pbField(1, []byte("k")), pbVarint(2, 1)), "ERR", true},
		{"attribute entry whose key says varint", "mut", protowire.AppendBytes(pbTag(1, protowire.VarintType), pbField(1, []byte("k"))),
			"attrs=[6b=] admins=- supers=-", false},
		{"attribute duplicate key keeps the last", "mut", pbCat(attr("k", "1"), attr("k", "2")), "attrs=[6b=32] admins=- supers=-", true},
		{"reserved field 4 skipped", "mut", pbCat(pbField(4, []byte("old signer")), pbField(2)), "attrs=[] admins=[] supers=-", true},

		{"immutable metadata", "imm", pbCat(pbVarint(1, 2), pbField(3, []byte("c")), pbField(4, pbField(1, pbField(1, []byte("a"))), pbField(2, pbField(1, []byte("b"))))),
			"type=2 addr= creator=63 dm=(61,62) oneshot=-", true},
		{"conversation type truncated to int32", "imm", pbVarint(1, 1<<32|1), "type=1 addr= creator= dm=- oneshot=-", true},
		{"conversation type as bytes", "imm", pbField(1, []byte{1}), "ERR", true},
		{"creator as varint", "imm", pbVarint(3, 1), "ERR", true},
		{"dm members as varint", "imm", pbVarint(4, 1), "ERR", true},
		{"dm member merges", "imm", pbCat(pbField(4, pbField(1, pbField(1, []byte("a")))), pbField(4, pbField(2, pbField(1, []byte("b"))))), "type=0 addr= creator= dm=(61,62) oneshot=-", true},
		{"oneshot readd request", "imm", pbField(5, pbField(1, pbField(1, []byte{0xab}), pbVarint(2, 9))), "type=0 addr= creator= dm=- oneshot=((ab,9))", true},
		{"oneshot readd request merges", "imm", pbField(5, pbField(1, pbField(1, []byte{0xab})), pbField(1, pbVarint(2, 9))), "type=0 addr= creator= dm=- oneshot=((ab,9))", true},
		{"oneshot without variant", "imm", pbField(5), "type=0 addr= creator= dm=- oneshot=(-)", true},
		{"readd sequence id as bytes", "imm", pbField(5, pbField(1, pbField(2, []byte{9}))), "ERR", true},
	}
	goDecoders := map[string]proto.Message{"mem": &content.GroupMembership{}, "mut": &content.GroupMutableMetadataV1{}, "imm": &content.GroupMetadataV1{}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := extKinds[tt.kind](tt.in); got != tt.want {
				t.Errorf("decode %x = %s, want %s", tt.in, got, tt.want)
			}
			if ref := refCanonical(tt.kind, tt.in); ref != tt.want {
				t.Errorf("reference model %x = %s, want %s", tt.in, ref, tt.want)
			}
			m := proto.Clone(goDecoders[tt.kind])
			if err := proto.Unmarshal(tt.in, m); (err == nil) != tt.goAccepts {
				t.Errorf("proto.Unmarshal(%x) = %v, want accepted %v", tt.in, err, tt.goAccepts)
			}
		})
	}
}

// TestProstGroupExtensionsChecks: parseGroupExtensions applies libxmtp's
// checks after decoding: both admin lists present, a known conversation
// type, both DM members for a DM; and it refuses what prost refuses.
func TestProstGroupExtensionsChecks(t *testing.T) {
	exts, err := newGroupExtensions(testRand(4), testInbox, &GroupOptions{Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseGroupExtensions(exts); err != nil {
		t.Fatalf("new group's extensions: %v", err)
	}
	raw := func(typ mls.ExtensionType) []byte { b, _ := findExt(exts, typ); return b }
	imm := func(md *content.GroupMetadataV1) []byte {
		e, err := immutableMetadataExtension(md)
		if err != nil {
			t.Fatal(err)
		}
		return e.Data
	}
	dm := &content.GroupMetadataV1{ConversationType: content.ConversationType_CONVERSATION_TYPE_DM,
		DmMembers: &content.DmMembers{DmMemberOne: &content.Inbox{InboxId: "a"}}}
	tests := []struct {
		name string
		typ  mls.ExtensionType
		data []byte
		want string // "" accepted, else the reason
	}{
		{"admin list missing", ExtensionMutableMetadata, pbField(3), "missing metadata field"},
		{"super admin list missing", ExtensionMutableMetadata, pbField(2), "missing metadata field"},
		{"both lists, empty", ExtensionMutableMetadata, pbCat(pbField(2), pbField(3)), ""},
		{"mutable metadata prost refuses", ExtensionMutableMetadata, pbCat(raw(ExtensionMutableMetadata), pbVarint(3, 1)), "malformed protobuf"},
		{"membership prost refuses", ExtensionGroupMembership, pbCat(raw(ExtensionGroupMembership), pbField(1, pbField(1, []byte("a")), pbField(2))), "malformed protobuf"},
		{"conversation type unspecified", ExtensionImmutableMetadata, imm(&content.GroupMetadataV1{}), "conversation type"},
		{"conversation type 9", ExtensionImmutableMetadata, imm(&content.GroupMetadataV1{ConversationType: 9}), "conversation type"},
		{"dm with one member", ExtensionImmutableMetadata, imm(dm), "dm without both members"},
		{"immutable metadata not a vector", ExtensionImmutableMetadata, []byte{0x05, 0x08}, "not a byte vector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseGroupExtensions(withExtension(exts, mls.Extension{Type: tt.typ, Data: tt.data}))
			var ge *GroupContextError
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (!errors.As(err, &ge) || ge.Extension != tt.typ || !strings.Contains(ge.Reason, tt.want)):
				t.Fatalf("error %v, want a GroupContextError on 0x%04x with %q", err, uint16(tt.typ), tt.want)
			}
		})
	}
}

// TestValidateMembershipDiff: added, removed and updated inboxes, and a
// lowered sequence id refused.
func TestValidateMembershipDiff(t *testing.T) {
	d, err := diffMembership(map[string]uint64{"a": 1, "b": 2, "c": 3}, map[string]uint64{"a": 1, "b": 4, "d": 0})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.added, []identity.InboxID{"d"}) || !slices.Equal(d.removed, []identity.InboxID{"c"}) || !slices.Equal(d.updated, []identity.InboxID{"b"}) {
		t.Fatalf("diff = %+v", d)
	}
	_, err = diffMembership(map[string]uint64{"a": 5}, map[string]uint64{"a": 4})
	var ie *CommitIdentityError
	if !errors.As(err, &ie) || ie.Rule != RuleSequenceIDDecreased || ie.Inbox != "a" || !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("lowered sequence id: %v", err)
	}
}

// TestValidateInstallationDiffMatch: the comparison of a commit's leaf
// changes with the expected diff (xmtp-groups.md §4 steps 11–12).
func TestValidateInstallationDiffMatch(t *testing.T) {
	set := func(ks ...string) keySet {
		s := keySet{}
		for _, k := range ks {
			s.add([]byte(k))
		}
		return s
	}
	exp := func(added map[string]identity.InboxID, removed ...string) *expectedDiff {
		e := &expectedDiff{added: keySet{}, removed: set(removed...), addedBy: map[string][]identity.InboxID{}}
		for k, in := range added {
			e.added.add([]byte(k))
			e.addedBy[k] = []identity.InboxID{in}
		}
		return e
	}
	changes := func(added map[string]identity.InboxID, removed ...string) *leafChanges {
		ch := &leafChanges{added: keySet{}, removed: set(removed...), addedInbox: map[string]identity.InboxID{}}
		for k, in := range added {
			ch.added.add([]byte(k))
			ch.addedInbox[k] = in
		}
		return ch
	}
	tests := []struct {
		name       string
		ch         *leafChanges
		exp        *expectedDiff
		inTree     keySet
		failed     keySet
		superAdmin bool
		want       string // "" or the rule
	}{
		{"nothing", changes(nil), exp(nil), set(), set(), false, ""},
		{"expected add", changes(map[string]identity.InboxID{"i1": "A"}), exp(map[string]identity.InboxID{"i1": "A"}), set(), set(), false, ""},
		{"expected add missing from the commit", changes(nil), exp(map[string]identity.InboxID{"i1": "A"}), set(), set(), false, ""},
		{"unexpected add", changes(map[string]identity.InboxID{"i2": "A"}), exp(map[string]identity.InboxID{"i1": "A"}), set(), set(), false, RuleUnexpectedAdded},
		{"add of an installation in the tree", changes(map[string]identity.InboxID{"i2": "A"}), exp(nil), set("i2"), set(), false, ""},
		{"expected add with another inbox's credential (libxmtp 1.9.1 applies it)", changes(map[string]identity.InboxID{"i1": "B"}), exp(map[string]identity.InboxID{"i1": "A"}), set(), set(), false, ""},
		{"expected removal", changes(nil, "r1"), exp(nil, "r1"), set("r1"), set(), false, ""},
		{"expected removal kept", changes(nil), exp(nil, "r1"), set("r1"), set(), false, RuleUnexpectedRemoved},
		{"unexpected removal", changes(nil, "r2"), exp(nil, "r1"), set("r1", "r2"), set(), false, RuleUnexpectedRemoved},
		{"expected removal excused as failed", changes(nil), exp(nil, "r1"), set(), set("r1"), false, ""},
		{"failed installation removed anyway", changes(nil, "r1"), exp(nil, "r1"), set("r1"), set("r1"), false, RuleUnexpectedRemoved},
		{"re-add by a super admin", changes(map[string]identity.InboxID{"x": "A"}, "x"), exp(nil), set("x"), set(), true, ""},
		{"re-add by a member", changes(map[string]identity.InboxID{"x": "A"}, "x"), exp(nil), set("x"), set(), false, RuleUnexpectedRemoved},
		{"unsuccessful re-add by a super admin", changes(nil, "x"), exp(nil), set("x"), set("x"), true, ""},
		{"unsuccessful re-add by a member", changes(nil, "x"), exp(nil), set("x"), set("x"), false, RuleUnexpectedRemoved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.superAdmin {
				dropReadds(tt.ch, tt.failed)
			}
			err := matchInstallationDiff(tt.ch, tt.exp, tt.inTree, tt.failed)
			var ie *CommitIdentityError
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (!errors.As(err, &ie) || ie.Rule != tt.want):
				t.Fatalf("error %v, want rule %q", err, tt.want)
			}
		})
	}
}

// TestValidateRegisterSignatureText: registering reports the identity
// update's signature text (what bridge client's register returns as
// signatureText), and nothing once registered.
func TestValidateRegisterSignatureText(t *testing.T) {
	n := startNode(t)
	w, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := openTestClient(t, n.Addr().String(), w, t.TempDir()+"/c.db3", "c")
	reg, err := c.RegisterInstallation(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"XMTP : Authenticate to inbox", "Inbox ID: " + string(c.InboxID()), "- Create inbox",
		strings.ToLower(string(w.Address())), hex.EncodeToString(c.InstallationID().Bytes())} {
		if !strings.Contains(reg.SignatureText, want) {
			t.Errorf("signature text %q lacks %q", reg.SignatureText, want)
		}
	}
	again, err := c.RegisterInstallation(ctxT(t))
	if err != nil || again.SignatureText != "" {
		t.Fatalf("second registration = %+v, %v; want no text", again, err)
	}
}

// identityOutage passes calls to the node through, except that
// GetIdentityUpdates fails as unavailable while down is set.
type identityOutage struct {
	grpc.ClientConnInterface
	down atomic.Bool
}

func (o *identityOutage) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if o.down.Load() && strings.HasSuffix(method, "/GetIdentityUpdates") {
		return status.Error(codes.Unavailable, "identity service down")
	}
	return o.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
}

// TestValidateIdentityFetchRetried: when the identity updates a commit's
// checks need cannot be fetched, the commit is neither merged nor skipped:
// the sync fails with an *IdentityFetchError, the group stays where it
// was, and the next sync applies the commit (xmtp-groups.md §4.1).
func TestValidateIdentityFetchRetried(t *testing.T) {
	n := startNode(t)
	addr := n.Addr().String()
	ctx := ctxT(t)
	a, _, _ := newTestClient(t, addr, "alice")
	x, _, _ := newTestClient(t, addr, "xavier")
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	conn := &identityOutage{ClientConnInterface: cc}
	w, err := identity.GenerateEthereumSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(ctx, w, Options{Conn: conn, DBPath: filepath.Join(t.TempDir(), "h.db3"), Logger: testLogger(t, "henry")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	if err := h.Register(ctx); err != nil {
		t.Fatal(err)
	}
	ga, _, err := a.CreateGroupWithMembers(ctx, nil, []identity.InboxID{h.InboxID()})
	if err != nil {
		t.Fatal(err)
	}
	gh := joinOne(t, h)
	if _, err := ga.AddMembers(ctx, []identity.InboxID{x.InboxID()}); err != nil {
		t.Fatal(err)
	}
	before, err := gh.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn.down.Store(true)
	err = gh.Sync(ctx)
	var fe *IdentityFetchError
	if !errors.As(err, &fe) {
		t.Fatalf("sync during the outage = %v, want an *IdentityFetchError", err)
	}
	if info, err := gh.Info(ctx); err != nil || info.Epoch != before.Epoch {
		t.Fatalf("epoch %d after the failed sync (%v), want %d", info.Epoch, err, before.Epoch)
	}
	conn.down.Store(false)
	if err := gh.Sync(ctx); err != nil {
		t.Fatalf("sync after the outage: %v", err)
	}
	info, err := gh.Info(ctx)
	if err != nil || info.Epoch != before.Epoch+1 {
		t.Fatalf("epoch %d after the outage (%v), want %d", info.Epoch, err, before.Epoch+1)
	}
	if _, ok := info.Membership[x.InboxID()]; !ok {
		t.Fatalf("membership %v lacks the added inbox", info.Membership)
	}
}
