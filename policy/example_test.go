package policy_test

import (
	"fmt"

	"mlsbridge/identity"
	"mlsbridge/policy"
)

func Example() {
	alice := identity.InboxID("a1")
	bob := identity.InboxID("b0")
	carol := identity.InboxID("c4")

	g := policy.GroupState{
		Type:     policy.ConversationGroup,
		Members:  []identity.InboxID{alice, bob},
		Metadata: policy.Metadata{SuperAdmins: []identity.InboxID{alice}},
		Policies: policy.AdminsOnly(),
	}

	// Bob, a plain member, tries to add Carol.
	d := policy.Evaluate(g, policy.Change{Actor: bob, AddedMembers: []policy.MemberChange{{Inbox: carol}}})
	fmt.Println(d)
	fmt.Println(d.Rule.ID, d.Rule.Section)

	// Alice lets every member add people; only a super admin may commit
	// that permission change.
	next, err := policy.UpdatePermissionPolicy(g.Policies, policy.UpdateAddMember, policy.Allow, "")
	if err != nil {
		panic(err)
	}
	fmt.Println(policy.Evaluate(g, policy.Change{Actor: bob, Permissions: &next}))
	fmt.Println(policy.Evaluate(g, policy.Change{Actor: alice, Permissions: &next}))

	// The new set, as extension 0xFF02 carries it.
	b, err := policy.Marshal(next)
	if err != nil {
		panic(err)
	}
	back, err := policy.Unmarshal(b)
	fmt.Println(len(b), err, back.Equal(next), back.Preset())
	// Output:
	// denied: add_member policy is admin-only and the actor is a member
	// add_member_policy xmtp-groups §4 step 14
	// denied: only super admins may change the group's permissions, and the actor is a member
	// allowed: only super admins may change the group's permissions, and the actor is a super admin
	// 212 <nil> true custom
}
