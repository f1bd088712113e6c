package identity

import "testing"

// A node re-verifies every update of an inbox log on each publish.
func BenchmarkVerifyCreateInbox(b *testing.B) {
	u, _, err := CreateInboxUpdate(newWallet(b, 100), newInstallation(b, 101), 1, 1)
	if err != nil {
		b.Fatal(err)
	}
	data, _ := u.Marshal()
	b.ReportAllocs()
	for b.Loop() {
		d, err := DecodeUpdate(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyUpdates(b *testing.B) {
	wallet := newWallet(b, 102)
	create, inbox, _ := CreateInboxUpdate(wallet, newInstallation(b, 103), 1, 1)
	log := []*VerifiedUpdate{mustVerify(b, create)}
	for i := range 20 {
		u, err := AddInstallationUpdate(inbox, wallet, newInstallation(b, byte(110+i)), uint64(i+2))
		if err != nil {
			b.Fatal(err)
		}
		log = append(log, mustVerify(b, u))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ApplyUpdates(nil, log); err != nil {
			b.Fatal(err)
		}
	}
}
