package store

import "gorm.io/gorm"

// GormForTest exposes the handle to this package's external tests.
func (s *Store) GormForTest() *gorm.DB { return s.db }
