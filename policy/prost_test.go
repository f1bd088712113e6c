package policy

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// testdata/prost-decode.txt holds inputs and what libxmtp's decoder made of
// them: one line per input, "<hex> <canonical form or ERR>". The answers
// come from prost itself: testdata/prostcheck, a small Rust program that
// declares the same messages as xmtp_proto and applies libxmtp's
// PolicySet::from_proto checks. It was built with Debian's prost 0.11.6
// (apt-get install librust-prost-dev; cargo with the registry replaced by
// /usr/share/cargo/registry), whose decoding rules for these messages are
// those of the prost 0.14 libxmtp uses. With ENC set it prints prost's
// re-encoding instead, for sets with at most one metadata entry. Regenerate
// the corpus with
//
//	go test ./policy -run TestProstCorpus -update -prostcheck=/path/to/prostcheck
var (
	update     = flag.Bool("update", false, "rewrite golden files in testdata")
	prostcheck = flag.String("prostcheck", "", "path of the prost-based decoder used to regenerate testdata/prost-decode.txt")
)

const prostCorpus = "testdata/prost-decode.txt"

// canonical renders a decode result as the Rust checker prints it.
func canonical(s PolicySet, err error) string {
	if err != nil {
		return "ERR"
	}
	var meta []string
	for _, f := range sortedFields(s.UpdateMetadata) {
		meta = append(meta, hex.EncodeToString([]byte(f))+"="+s.UpdateMetadata[f].String())
	}
	return fmt.Sprintf("add=%s remove=%s meta=[%s] add_admin=%s remove_admin=%s update_permissions=%s",
		s.AddMember, s.RemoveMember, strings.Join(meta, " "), s.AddAdmin, s.RemoveAdmin, s.UpdatePermissions)
}

func TestProstCorpus(t *testing.T) {
	var corpus string
	if *prostcheck != "" {
		corpus = regenerateProstCorpus(t)
	} else {
		b, err := os.ReadFile(prostCorpus)
		if err != nil {
			t.Fatalf("read %s: %v", prostCorpus, err)
		}
		corpus = string(b)
	}
	n, accepted := 0, 0
	for line := range strings.Lines(corpus) {
		in, want, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		if !ok {
			t.Fatalf("line %d: no answer", n+1)
		}
		n++
		b, err := hex.DecodeString(in)
		if err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		if got := canonical(Unmarshal(b)); got != want {
			t.Errorf("line %d: %s\n got %s\nwant %s", n, in, got, want)
		}
		if want != "ERR" {
			accepted++
		}
	}
	if n < 1000 || accepted < 100 {
		t.Fatalf("corpus has %d inputs, %d accepted; want at least 1000 and 100", n, accepted)
	}
}

// regenerateProstCorpus asks the prost checker about a deterministic
// corpus and returns the golden text, writing it with -update.
func regenerateProstCorpus(t *testing.T) string {
	inputs := prostInputs()
	var in bytes.Buffer
	for _, b := range inputs {
		fmt.Fprintf(&in, "%x\n", b)
	}
	cmd := exec.Command(*prostcheck)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run %s: %v", *prostcheck, err)
	}
	answers := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(answers) != len(inputs) {
		t.Fatalf("%d answers for %d inputs", len(answers), len(inputs))
	}
	var golden strings.Builder
	for i, b := range inputs {
		fmt.Fprintf(&golden, "%x %s\n", b, answers[i])
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(prostCorpus), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(prostCorpus, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return golden.String()
}

// prostInputs builds the corpus: the table cases, structured random
// messages (random trees, unknown fields, wrong wire types, repeats, odd
// map entries, depths around the limit) and byte-level mutations of them.
func prostInputs() [][]byte {
	r := rand.New(rand.NewPCG(5, 0xff02))
	var out [][]byte
	seen := map[string]bool{}
	add := func(b []byte) {
		if len(b) <= 300 && !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, slices.Clone(b))
		}
	}
	for _, s := range []PolicySet{Default(), AdminsOnly(), DM(), custom()} {
		b, _ := Marshal(s)
		add(b)
	}
	for n := 46; n <= 51; n++ {
		add(wrap(setBody(nested(n, nil))))
		add(wrap(setBody(base(1), field(nil, 3, metaEntry("k", nested(n-1, nil))))))
		add(wrap(setBody(nested(n, protowire.AppendVarint(protowire.AppendTag(nil, 9, protowire.VarintType), 1)))))
	}
	var structured [][]byte
	for i := range 1300 {
		g := gen{r: r, clean: i%2 == 0}
		b := g.root()
		structured = append(structured, b)
		add(b)
	}
	g := gen{r: r}
	for range 700 {
		add(g.mutate(structured[r.IntN(len(structured))]))
	}
	return out
}

// gen makes random GroupMutablePermissionsV1-like bytes. A clean gen
// makes only what libxmtp accepts, but still with unknown fields, repeated
// fields and merges.
type gen struct {
	r     *rand.Rand
	clean bool
}

func (g gen) chance(p float64) bool { return g.r.Float64() < p }

// flaw is chance for the mistakes a clean gen never makes.
func (g gen) flaw(p float64) bool { return !g.clean && g.chance(p) }

func (g gen) root() []byte {
	var b []byte
	if g.chance(0.05) {
		b = g.unknown(b)
	}
	if !g.flaw(0.03) {
		b = g.msgField(b, 1, g.set())
	}
	if g.chance(0.05) {
		b = g.msgField(b, 1, g.set())
	}
	if g.chance(0.05) {
		b = g.unknown(b)
	}
	return b
}

// msgField appends a length-delimited field, occasionally with a wrong
// wire type.
func (g gen) msgField(b []byte, num protowire.Number, body []byte) []byte {
	if g.flaw(0.02) {
		b = protowire.AppendTag(b, num, protowire.Type(g.r.IntN(6)))
		return protowire.AppendBytes(b, body)
	}
	return field(b, num, body)
}

func (g gen) set() []byte {
	var b []byte
	nums := []protowire.Number{1, 2, 3, 3, 3, 4, 5, 6}
	if g.chance(0.3) {
		g.r.Shuffle(len(nums), func(i, j int) { nums[i], nums[j] = nums[j], nums[i] })
	}
	for _, num := range nums {
		if g.flaw(0.04) {
			continue
		}
		if num == 3 {
			if g.chance(0.4) {
				b = g.msgField(b, 3, g.entry())
			}
			continue
		}
		b = g.msgField(b, num, g.policy(0))
		if g.chance(0.03) {
			b = g.msgField(b, num, g.policy(0))
		}
	}
	if g.chance(0.1) {
		b = g.unknown(b)
	}
	return b
}

func (g gen) entry() []byte {
	keys := []string{"group_name", "app_data", "_commit_log_signer", "", "k", "é"}
	if !g.clean {
		keys = append(keys, "\xff")
	}
	var e []byte
	if !g.chance(0.05) {
		e = field(e, 1, []byte(keys[g.r.IntN(len(keys))]))
	}
	if !g.flaw(0.05) {
		e = g.msgField(e, 2, g.policy(0))
	}
	if g.chance(0.05) {
		e = g.unknown(e)
	}
	return e
}

func (g gen) policy(depth int) []byte {
	var b []byte
	switch k := g.r.IntN(10); {
	case k < 6 || depth > 4:
		vals := []uint64{1, 2, 3, 1<<32 | 2}
		if !g.clean {
			vals = append(vals, 4, 0, 5, 1<<64-1)
		}
		b = protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), vals[g.r.IntN(len(vals))])
	case k < 9:
		var cond []byte
		n := g.r.IntN(4)
		if g.clean {
			n = 1 + g.r.IntN(3)
		}
		for range n {
			cond = g.msgField(cond, 1, g.policy(depth+1))
		}
		b = g.msgField(nil, protowire.Number(2+g.r.IntN(2)), cond)
	default: // kind unset, or only unknown fields
		if g.clean {
			return g.policy(depth + 1)
		}
		if g.chance(0.5) {
			b = g.unknown(nil)
		}
	}
	if g.chance(0.08) { // a second kind field: merge or replace
		b = append(b, g.policy(depth+1)...)
	}
	if g.chance(0.05) {
		b = g.unknown(b)
	}
	return b
}

func (g gen) unknown(b []byte) []byte {
	num := protowire.Number(7 + g.r.IntN(5))
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
		return field(b, num, []byte("xyz"))
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

func (g gen) mutate(b []byte) []byte {
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
		i := g.r.IntN(len(b) + 1)
		return slices.Insert(b, i, byte(g.r.IntN(256)))
	}
	return b
}
