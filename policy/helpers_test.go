package policy

import (
	"fmt"

	"mlsbridge/identity"
)

// inbox returns a well-formed inbox id numbered n.
func inbox(n int) identity.InboxID {
	return identity.InboxID(fmt.Sprintf("%064x", n))
}

func ptr(s string) *string { return &s }
