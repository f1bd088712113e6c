package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunSelfCheck(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"mls-selfcheck", "-members", "4", "-messages", "2"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "mls self-check passed: 4 members") || !strings.Contains(out.String(), "8 messages") {
		t.Fatalf("unexpected output %q", out.String())
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	for _, args := range [][]string{{"-members", "1"}, {"-members", "5000"}, {"-messages", "-1"}, {"nonsense"}, {"-nope"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
		if errb.Len() == 0 {
			t.Errorf("run(%q) printed no error", args)
		}
	}
}
