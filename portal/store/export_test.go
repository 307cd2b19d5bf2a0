package store

import "gorm.io/gorm"

// GormForTest exposes the handle to this package's external tests.
func (s *Store) GormForTest() *gorm.DB { return s.db }

// SetAfterTransitionReadForTest installs a hook run by TransitionCase
// between its read and its UPDATE; the returned function removes it.
func SetAfterTransitionReadForTest(f func()) func() {
	afterTransitionRead = f
	return func() { afterTransitionRead = nil }
}
