package store_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm/schema"

	"sceau.fr/sceau/migrations"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/portal/store/storetest"
)

// columnsOf lists table → sorted column names of a migrated store.
func columnsOf(t *testing.T, s *store.Store) map[string][]string {
	t.Helper()
	db := s.GormForTest()
	tables, err := db.Migrator().GetTables()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, tbl := range tables {
		if strings.HasPrefix(tbl, "sqlite_") {
			continue
		}
		cols, err := db.Migrator().ColumnTypes(tbl)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			out[tbl] = append(out[tbl], c.Name())
		}
		sort.Strings(out[tbl])
	}
	return out
}

func TestDialectsHaveTheSameTablesAndColumns(t *testing.T) {
	pg := columnsOf(t, storetest.Open(t, "postgres"))
	lite := columnsOf(t, storetest.Open(t, "sqlite"))
	if len(pg) == 0 {
		t.Fatal("no tables after migration")
	}
	for tbl, cols := range pg {
		other, ok := lite[tbl]
		if !ok {
			t.Errorf("table %s exists on PostgreSQL only", tbl)
			continue
		}
		if strings.Join(cols, ",") != strings.Join(other, ",") {
			t.Errorf("table %s differs:\n  postgres: %v\n  sqlite:   %v", tbl, cols, other)
		}
	}
	for tbl := range lite {
		if _, ok := pg[tbl]; !ok {
			t.Errorf("table %s exists on SQLite only", tbl)
		}
	}
}

func TestEveryModelFieldHasItsColumn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		cols := columnsOf(t, s)
		for _, m := range model.All() {
			sch, err := schema.Parse(m, &sync.Map{}, schema.NamingStrategy{})
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, c := range cols[sch.Table] {
				have[c] = true
			}
			if len(have) == 0 {
				t.Errorf("model %s: table %s is missing", sch.Name, sch.Table)
				continue
			}
			for _, f := range sch.Fields {
				if f.DBName != "" && !have[f.DBName] {
					t.Errorf("model %s field %s: column %s.%s is missing", sch.Name, f.Name, sch.Table, f.DBName)
				}
			}
		}
	})
}

func TestOutdatedSchemaIsRefused(t *testing.T) {
	storetest.EachEmpty(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		err := s.CheckSchema(ctx)
		var out *migrations.OutdatedError
		if !errors.As(err, &out) || !errors.Is(err, migrations.ErrOutdated) {
			t.Fatalf("empty database: CheckSchema = %v, want OutdatedError", err)
		}
		if !strings.Contains(err.Error(), "sceau migrate") {
			t.Errorf("message does not say what to do: %v", err)
		}
		applied, err := s.Migrate(ctx)
		if err != nil || len(applied) == 0 {
			t.Fatalf("migrate: %v %v", applied, err)
		}
		if err := s.CheckSchema(ctx); err != nil {
			t.Fatalf("after migrate: %v", err)
		}
		again, err := s.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second migrate applied %v (%v)", again, err)
		}
		// A newer binary migrated this database: an older one must not serve it.
		db := s.GormForTest()
		if err := db.Exec("INSERT INTO schema_migrations (version_id, is_applied) VALUES (?, ?)", 999999, true).Error; err != nil {
			t.Fatal(err)
		}
		err = s.CheckSchema(ctx)
		if !errors.As(err, &out) || out.Current != 999999 || !strings.Contains(err.Error(), "newer") {
			t.Fatalf("newer schema: CheckSchema = %v", err)
		}
	})
}

func TestConcurrentMigrationsOnPostgres(t *testing.T) {
	// Several instances starting at once: the advisory lock serialises them
	// and each ends with the full schema.
	url := storetest.PostgresURL(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(context.Background(), store.Options{Driver: "postgres", DSN: url, MaxOpenConns: 2})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			if _, err := s.Migrate(context.Background()); err != nil {
				errs <- err
				return
			}
			errs <- s.CheckSchema(context.Background())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
