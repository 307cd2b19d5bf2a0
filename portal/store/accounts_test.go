package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

func expert() *model.Account {
	return &model.Account{Role: model.RoleExpert, Domain: "expert", DisplayName: "Pierre Durand",
		Email: "pierre.durand@experts.test", Court: "Cour d’appel de Rennes", Specialties: "Bâtiment"}
}

func cert(fp string) *model.AccountCertificate {
	return &model.AccountCertificate{Fingerprint: fp, Issuer: "CN=AC Experts", Serial: "42", Subject: "CN=Pierre Durand",
		NotAfter: time.Now().Add(time.Hour)}
}

// Two browsers registering the same certificate at once: exactly one account.
func TestRegisterSameCertificateRace(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		const n = 8
		var wg sync.WaitGroup
		ids := make(chan int64, n)
		created := make(chan bool, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(s *store.Store) {
				defer wg.Done()
				acc, ok, err := s.Register(ctx, expert(), cert("fp-race"))
				if err != nil {
					t.Error(err)
					return
				}
				ids <- acc.ID
				created <- ok
			}([]*store.Store{a, b}[i%2])
		}
		wg.Wait()
		close(ids)
		close(created)
		first := int64(-1)
		for id := range ids {
			if first == -1 {
				first = id
			} else if id != first {
				t.Fatalf("two accounts for one certificate: %d and %d", first, id)
			}
		}
		wins := 0
		for ok := range created {
			if ok {
				wins++
			}
		}
		if wins != 1 {
			t.Fatalf("%d registrations created an account", wins)
		}
		list, err := a.Accounts(ctx, "", 100, 0)
		if err != nil || len(list) != 1 {
			t.Fatalf("accounts: %d %v", len(list), err)
		}
	})
}

func TestAccountLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc, ok, err := s.Register(ctx, expert(), cert("fp-1"))
		if err != nil || !ok {
			t.Fatal(err)
		}
		got, c, err := s.AccountByFingerprint(ctx, "fp-1")
		if err != nil || got.ID != acc.ID || c.Serial != "42" {
			t.Fatalf("lookup: %+v %v", got, err)
		}
		if _, _, err := s.AccountByFingerprint(ctx, "fp-unknown"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown fingerprint: %v", err)
		}
		if err := s.RecordLogin(ctx, &model.Login{AccountID: acc.ID, Fingerprint: "fp-1", Issuer: "CN=AC Experts", Serial: "42", RemoteAddr: "127.0.0.1:5555"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetSuspended(ctx, acc.ID, true, "Radié de la liste"); err != nil {
			t.Fatal(err)
		}
		got, _, _ = s.AccountByFingerprint(ctx, "fp-1")
		if !got.Suspended() || got.SuspendedReason != "Radié de la liste" {
			t.Errorf("not suspended: %+v", got)
		}
		if err := s.SetSuspended(ctx, acc.ID, false, ""); err != nil {
			t.Fatal(err)
		}
		a, certs, logins, err := s.Account(ctx, acc.ID)
		if err != nil || a.Suspended() || len(certs) != 1 || certs[0].LastUsedAt == nil || len(logins) != 1 {
			t.Fatalf("account: %+v %d certs %d logins %v", a, len(certs), len(logins), err)
		}
		if err := s.SetSuspended(ctx, 999999, true, "x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("suspending a missing account: %v", err)
		}
	})
}

func TestRegistrationValidation(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	a := expert()
	a.Email, a.Court, a.DisplayName = "not an email", "", "Nom\x00"
	_, _, err := s.Register(context.Background(), a, cert("fp-x"))
	var v model.ValidationErrors
	if !errors.As(err, &v) || v.For("email") == "" || v.For("court") == "" || v.For("display_name") == "" {
		t.Fatalf("validation: %v", err)
	}
	if n, _ := s.Accounts(context.Background(), "", 10, 0); len(n) != 0 {
		t.Error("an invalid registration left an account")
	}
	_ = fmt.Sprint(v)
}
