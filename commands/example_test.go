package commands_test

import (
	"context"
	"fmt"

	"mlsbridge/commands"
	"mlsbridge/policy"
)

// printer is an Actions value with no capability but Reply.
type printer struct{}

func (printer) Reply(_ context.Context, text string) error {
	fmt.Println(text)
	return nil
}

func Example() {
	d, err := commands.New(commands.Config{}) // the built-ins behind "!"
	if err != nil {
		panic(err)
	}
	g := testGroup(policy.AdminsOnly()) // alice super admin, bob admin, carol member
	ctx := context.Background()

	_ = d.Dispatch(ctx, printer{}, from(carol, "!ping", g))
	_ = d.Dispatch(ctx, printer{}, from(carol, "!hlep", g))
	_ = d.Dispatch(ctx, printer{}, from(bob, "!admin add "+carol, g))
	_ = d.Dispatch(ctx, printer{}, from(alice, "!admin add "+carol, g))
	_ = d.Dispatch(ctx, printer{}, from(alice, `!group name "Book club`, g))
	err = d.Dispatch(ctx, printer{}, from(carol, "hello", g))
	fmt.Println(err)
	// Output:
	// pong
	// I don't know the command !hlep. Did you mean !help? Type !help for the list of commands.
	// Sorry, you can't use !admin add: add_admin policy is super-admin-only and the actor is an admin.
	// Sorry, this bot can't add admins here: that isn't supported.
	// I couldn't read that command: the quote " before "Book club" is never closed; add a closing ", or write \" for a plain quote character.
	// commands: not a command
}
