package mls

import (
	"slices"
	"testing"
)

func init() { vectorRunners["tree-math.json"] = runTreeMathVectors }

type treeMathVector struct {
	NLeaves uint32    `json:"n_leaves"`
	NNodes  uint32    `json:"n_nodes"`
	Root    uint32    `json:"root"`
	Left    []*uint32 `json:"left"`
	Right   []*uint32 `json:"right"`
	Parent  []*uint32 `json:"parent"`
	Sibling []*uint32 `json:"sibling"`
}

func runTreeMathVectors(t *testing.T, path string) {
	for i, v := range loadVectors[treeMathVector](t, path) {
		t.Run(suiteName(0, i), func(t *testing.T) { checkTreeMath(t, v) })
	}
}

// checkTreeMath compares every array of one tree-math.json entry, with nil
// where the relation does not exist.
func checkTreeMath(t *testing.T, v treeMathVector) {
	if got := nodeWidth(v.NLeaves); got != v.NNodes {
		t.Errorf("nodeWidth(%d) = %d, want %d", v.NLeaves, got, v.NNodes)
	}
	root := treeRoot(v.NLeaves)
	if uint32(root) != v.Root {
		t.Errorf("treeRoot(%d) = %d, want %d", v.NLeaves, root, v.Root)
	}
	n := int(v.NNodes)
	left, right := make([]*uint32, n), make([]*uint32, n)
	parent, sibling := make([]*uint32, n), make([]*uint32, n)
	for i := range n {
		x := nodeIndex(i)
		if !x.isLeaf() {
			left[i], right[i] = ptrU32(uint32(x.left())), ptrU32(uint32(x.right()))
		}
		if x != root {
			parent[i], sibling[i] = ptrU32(uint32(x.parent())), ptrU32(uint32(x.sibling()))
		}
	}
	for _, c := range []struct {
		name      string
		got, want []*uint32
	}{{"left", left, v.Left}, {"right", right, v.Right}, {"parent", parent, v.Parent}, {"sibling", sibling, v.Sibling}} {
		if !slices.EqualFunc(c.got, c.want, eqPtrU32) {
			t.Errorf("%s: got %v, want %v", c.name, derefAll(c.got), derefAll(c.want))
		}
	}
}

func ptrU32(v uint32) *uint32 { return &v }

func eqPtrU32(a, b *uint32) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func derefAll(ps []*uint32) []int64 {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = -1
		if p != nil {
			out[i] = int64(*p)
		}
	}
	return out
}

// TestTreeMathPaths checks direct paths, copaths and common ancestors
// against the examples of RFC 9420 §4.1.2 and Appendix C.
func TestTreeMathPaths(t *testing.T) {
	// Leaf E (index 4) of an 8-leaf tree: X=9, Y=11, W=7; copath F=10, Z=13, U=3.
	if got, want := directPath(LeafIndex(4).node(), 8), []nodeIndex{9, 11, 7}; !slices.Equal(got, want) {
		t.Errorf("directPath(8, 8) = %v, want %v", got, want)
	}
	if got, want := copath(LeafIndex(4).node(), 8), []nodeIndex{10, 13, 3}; !slices.Equal(got, want) {
		t.Errorf("copath(8, 8) = %v, want %v", got, want)
	}
	if got := directPath(0, 1); len(got) != 0 {
		t.Errorf("directPath(0, 1) = %v, want empty", got)
	}
	cases := []struct{ x, y, want nodeIndex }{
		{0, 2, 1}, {0, 6, 3}, {8, 14, 11}, {2, 12, 7}, {4, 4, 4}, {1, 2, 1}, {9, 8, 9}, {3, 13, 7},
	}
	for _, c := range cases {
		if got := commonAncestor(c.x, c.y); got != c.want {
			t.Errorf("commonAncestor(%d, %d) = %d, want %d", c.x, c.y, got, c.want)
		}
	}
	if lo, hi := nodeIndex(11).leafSpan(); lo != 4 || hi != 8 {
		t.Errorf("leafSpan(11) = %d, %d, want 4, 8", lo, hi)
	}
}
