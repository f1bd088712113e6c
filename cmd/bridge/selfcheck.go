package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"

	"mlsbridge/mls"
)

// member is one in-process participant of the self-check group.
type member struct {
	name   string
	sig    []byte
	bundle *mls.KeyPackageBundle
	group  *mls.Group
}

const suite = mls.MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519

func newMember(name string) (*member, error) {
	priv, _, err := suite.GenerateSignatureKeyPair(nil)
	if err != nil {
		return nil, fmt.Errorf("signature key for %s: %w", name, err)
	}
	b, err := mls.NewKeyPackageBundle(nil, suite, priv, mls.NewBasicCredential([]byte(name)), nil)
	if err != nil {
		return nil, fmt.Errorf("key package for %s: %w", name, err)
	}
	return &member{name: name, sig: priv, bundle: b}, nil
}

// selfCheck creates a group of n members, has each send messages and
// commit an update, and checks after every epoch that all members agree.
func selfCheck(log *slog.Logger, out io.Writer, n, messages int) error {
	ms := make([]*member, n)
	for i := range ms {
		m, err := newMember(fmt.Sprintf("member-%d", i))
		if err != nil {
			return err
		}
		ms[i] = m
	}
	var err error
	ms[0].group, err = mls.NewGroup(mls.Config{}, suite, []byte("mlsbridge self-check"), ms[0].sig, mls.NewBasicCredential([]byte(ms[0].name)), nil, nil)
	if err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	log.Info("group created", "suite", suite.String(), "members", n)
	adds := make([]mls.KeyPackage, 0, n-1)
	for _, m := range ms[1:] {
		adds = append(adds, m.bundle.KeyPackage)
	}
	res, err := ms[0].group.Commit(mls.CommitOptions{Adds: adds})
	if err != nil {
		return fmt.Errorf("commit adds: %w", err)
	}
	if err := ms[0].group.MergePendingCommit(); err != nil {
		return fmt.Errorf("merge adds: %w", err)
	}
	tree, err := ms[0].group.RatchetTree()
	if err != nil {
		return fmt.Errorf("export ratchet tree: %w", err)
	}
	for _, m := range ms[1:] {
		if m.group, err = mls.JoinFromWelcome(mls.Config{}, res.Welcome, m.bundle, tree); err != nil {
			return fmt.Errorf("%s joins: %w", m.name, err)
		}
	}
	if err := agree(ms); err != nil {
		return err
	}
	log.Info("all members joined", "epoch", ms[0].group.Epoch())
	sent := 0
	for _, from := range ms {
		for k := 0; k < messages; k++ {
			if err := sendApp(from, ms, fmt.Sprintf("hello %d from %s", k, from.name)); err != nil {
				return err
			}
			sent++
		}
		if err := commitUpdate(from, ms); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "mls self-check passed: %d members on %s, %d messages, epoch %d, epoch authenticator %s\n",
		n, suite, sent, ms[0].group.Epoch(), hex.EncodeToString(ms[0].group.EpochAuthenticator()[:8]))
	return nil
}

func sendApp(from *member, ms []*member, text string) error {
	msg, err := from.group.Encrypt([]byte(text), nil)
	if err != nil {
		return fmt.Errorf("%s encrypts: %w", from.name, err)
	}
	wire, err := msg.Bytes()
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	for _, to := range ms {
		if to == from {
			continue
		}
		in, err := mls.ParseMLSMessage(wire)
		if err != nil {
			return fmt.Errorf("%s parses: %w", to.name, err)
		}
		pm, err := to.group.Process(in)
		if err != nil {
			return fmt.Errorf("%s decrypts: %w", to.name, err)
		}
		if string(pm.ApplicationData) != text {
			return fmt.Errorf("%s got %q, want %q", to.name, pm.ApplicationData, text)
		}
	}
	return nil
}

// commitUpdate has from commit a fresh path and every other member merge it.
func commitUpdate(from *member, ms []*member) error {
	res, err := from.group.Commit(mls.CommitOptions{ForcePath: true})
	if err != nil {
		return fmt.Errorf("%s commits: %w", from.name, err)
	}
	wire, err := res.Commit.Bytes()
	if err != nil {
		return fmt.Errorf("encode commit: %w", err)
	}
	for _, to := range ms {
		if to == from {
			continue
		}
		in, err := mls.ParseMLSMessage(wire)
		if err != nil {
			return fmt.Errorf("%s parses commit: %w", to.name, err)
		}
		pm, err := to.group.Process(in)
		if err != nil {
			return fmt.Errorf("%s processes commit: %w", to.name, err)
		}
		if pm.Commit == nil {
			return fmt.Errorf("%s: commit produced no staged commit", to.name)
		}
		if err := to.group.MergeStagedCommit(pm.Commit); err != nil {
			return fmt.Errorf("%s merges commit: %w", to.name, err)
		}
	}
	if err := from.group.MergePendingCommit(); err != nil {
		return fmt.Errorf("%s merges own commit: %w", from.name, err)
	}
	return agree(ms)
}

func agree(ms []*member) error {
	ref := ms[0].group
	for _, m := range ms[1:] {
		if m.group.Epoch() != ref.Epoch() || !bytes.Equal(m.group.EpochAuthenticator(), ref.EpochAuthenticator()) {
			return fmt.Errorf("%s disagrees with %s at epoch %d", m.name, ms[0].name, ref.Epoch())
		}
	}
	return nil
}
