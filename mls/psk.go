package mls

import "fmt"

// PSKType says where a pre-shared key comes from (RFC 9420 §8.4).
type PSKType uint8

// PSK types of RFC 9420 §8.4.
const (
	PSKTypeExternal   PSKType = 1
	PSKTypeResumption PSKType = 2
)

// ResumptionPSKUsage says why a resumption PSK is injected (RFC 9420 §8.4).
type ResumptionPSKUsage uint8

// Resumption PSK usages of RFC 9420 §8.4.
const (
	ResumptionPSKUsageApplication ResumptionPSKUsage = 1
	ResumptionPSKUsageReInit      ResumptionPSKUsage = 2
	ResumptionPSKUsageBranch      ResumptionPSKUsage = 3
)

// PreSharedKeyID names a pre-shared key (RFC 9420 §8.4). PSKID is set for
// external PSKs; Usage, PSKGroupID and PSKEpoch for resumption PSKs. Nonce
// is the fresh psk_nonce of Nh bytes chosen by the proposer.
type PreSharedKeyID struct {
	Type       PSKType
	PSKID      []byte
	Usage      ResumptionPSKUsage
	PSKGroupID []byte
	PSKEpoch   uint64
	Nonce      []byte
}

// marshal writes the PreSharedKeyID struct of RFC 9420 §8.4.
func (id *PreSharedKeyID) marshal(w *Writer) {
	w.Uint8(uint8(id.Type))
	switch id.Type {
	case PSKTypeExternal:
		w.Opaque(id.PSKID)
	case PSKTypeResumption:
		w.Uint8(uint8(id.Usage))
		w.Opaque(id.PSKGroupID)
		w.Uint64(id.PSKEpoch)
	default:
		if w.err == nil {
			w.err = fmt.Errorf("mls: encode: psk type %d", id.Type)
		}
	}
	w.Opaque(id.Nonce)
}

// unmarshal reads a PreSharedKeyID; unknown PSK types and usages are
// decode errors.
func (id *PreSharedKeyID) unmarshal(r *Reader) {
	id.Type = PSKType(r.Uint8())
	switch id.Type {
	case PSKTypeExternal:
		id.PSKID = r.Opaque()
	case PSKTypeResumption:
		id.Usage = ResumptionPSKUsage(r.Uint8())
		if id.Usage < ResumptionPSKUsageApplication || id.Usage > ResumptionPSKUsageBranch {
			r.Fail("resumption psk usage %d", id.Usage)
		}
		id.PSKGroupID = r.Opaque()
		id.PSKEpoch = r.Uint64()
	default:
		r.Fail("psk type %d", id.Type)
	}
	id.Nonce = r.Opaque()
}

// pskInput is one pre-shared key fed to the key schedule: its ID (as
// listed in the PreSharedKey proposals, in order) and its value.
type pskInput struct {
	ID  PreSharedKeyID
	PSK []byte
}

// computePSKSecret combines psks into psk_secret as in RFC 9420 §8.4:
// psk_extracted = Extract(0, psk), psk_input = ExpandWithLabel(psk_extracted,
// "derived psk", PSKLabel{id, index, count}, Nh), psk_secret chained by
// Extract(psk_input, previous). With no PSKs it returns Nh zero bytes.
func computePSKSecret(cs CipherSuite, psks []pskInput) ([]byte, error) {
	if len(psks) > 0xffff {
		return nil, fmt.Errorf("mls: %d psks exceed the uint16 count", len(psks))
	}
	zero := make([]byte, cs.Nh())
	secret := zero
	for i := range psks {
		var w Writer
		psks[i].ID.marshal(&w)
		w.Uint16(uint16(i))
		w.Uint16(uint16(len(psks)))
		if err := w.Err(); err != nil {
			return nil, err
		}
		extracted := cs.Extract(zero, psks[i].PSK)
		in := cs.ExpandWithLabel(extracted, "derived psk", w.Bytes(), cs.Nh())
		secret = cs.Extract(in, secret)
	}
	return secret, nil
}
