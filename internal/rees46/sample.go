package rees46

import (
	"errors"
	"os"
	"path/filepath"
)

// SampleDirEnv names the environment variable that points tests and
// benchmarks at the folder of the REES46 sample files.
const SampleDirEnv = "REES46_DATA_DIR"

// Sample file names inside the sample folder.
const (
	MulticategoryFile = "rees46_multicategory_2019-10-01.csv"
	CosmeticsDir      = "rees46_cosmetics"
)

// CosmeticsMonths are the cosmetics sample files in time order.
var CosmeticsMonths = []string{"data_2022_oct.csv", "data_2022_nov.csv", "data_2022_dec.csv", "data_2023_jan.csv", "data_2023_feb.csv"}

// FindSampleDir returns the folder of the REES46 samples: the one named by
// REES46_DATA_DIR, or else shared/data beside the checkout that contains the
// working directory. The samples are not part of the repository.
func FindSampleDir() (string, error) {
	if dir := os.Getenv(SampleDirEnv); dir != "" {
		return dir, checkSampleDir(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			sample := filepath.Join(filepath.Dir(dir), "shared", "data")
			return sample, checkSampleDir(sample)
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("rees46: no go.mod above " + wd + "; set " + SampleDirEnv)
		}
	}
}

func checkSampleDir(dir string) error {
	_, err := os.Stat(filepath.Join(dir, MulticategoryFile))
	return err
}

// MulticategoryPaths returns the multi-category sample file in dir.
func MulticategoryPaths(dir string) []string {
	return []string{filepath.Join(dir, MulticategoryFile)}
}

// CosmeticsPaths returns the five cosmetics sample files in dir, in time
// order.
func CosmeticsPaths(dir string) []string {
	paths := make([]string, len(CosmeticsMonths))
	for i, name := range CosmeticsMonths {
		paths[i] = filepath.Join(dir, CosmeticsDir, name)
	}
	return paths
}
