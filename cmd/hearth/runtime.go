package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hearthcluster/hearth/spark"
	"github.com/spf13/cobra"
)

func newRuntimeCmd(g *globals) *cobra.Command {
	var sparkHome, archiveURL string
	o := defaultServerOptions(g) // the server's Maven, jar cache and class-data settings
	locator := func() *spark.Locator {
		o.sparkHome, o.archiveURL = sparkHome, archiveURL
		return o.locator(nil)
	}
	root := &cobra.Command{
		Use:   "runtime",
		Short: "Find or install the Spark runtime clusters run on",
		Long: `Hearth looks for a Spark distribution in this order: --spark-home
($SPARK_HOME), a pip-installed pyspark of the right version, the cache in
$HEARTH_HOME/runtime. 'install' downloads spark-<v>-bin-hadoop3.tgz from the
Apache archive, verifies its SHA-512 and unpacks it into the cache, fetches
the S3A connector for its Hadoop ($HEARTH_MAVEN_URL), and builds the
class-data archive its daemons start from ($HEARTH_CDS_CACHE; the server
otherwise builds it in the background after a cluster first uses the
runtime).`,
	}
	root.PersistentFlags().StringVar(&sparkHome, "spark-home", os.Getenv("SPARK_HOME"), "a Spark distribution to use ($SPARK_HOME)")
	root.PersistentFlags().StringVar(&archiveURL, "spark-archive-url", envOr("HEARTH_SPARK_ARCHIVE", "https://archive.apache.org/dist/spark"), "where to download Spark releases from")

	show := func(cmd *cobra.Command, d spark.Distribution) error {
		if size, err := dirSize(d.Home); err == nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "Spark %s (%s) takes %s at %s\n", d.Version, d.Source, spark.HumanBytes(size), d.Home)
		}
		return printJSON(cmd.OutOrStdout(), d)
	}
	locate := &cobra.Command{
		Use:   "locate [release-label]",
		Short: "Show where the Spark runtime of a release is (default spark-" + spark.DefaultVersion + ")",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := releaseVersion(args)
			if err != nil {
				return err
			}
			d, err := locator().Locate(cmd.Context(), v)
			if err != nil {
				return err
			}
			return show(cmd, d)
		},
	}
	install := &cobra.Command{
		Use:   "install [release-label]",
		Short: "Install the Spark runtime of a release if it is not found (default spark-" + spark.DefaultVersion + ")",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := releaseVersion(args)
			if err != nil {
				return err
			}
			d, err := locator().Install(cmd.Context(), v, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if dir := o.cdsDir(); dir != "" {
				java, err := spark.FindJava(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "Building the class-data archive of Spark %s's daemons (once per Spark and Java)\n", d.Version)
				archive, err := d.BuildCDS(cmd.Context(), java, dir)
				if err != nil && !errors.Is(err, spark.ErrCDSBusy) {
					return fmt.Errorf("class-data archive: %w", err)
				}
				if err == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "Class-data archive: %s\n", archive)
				}
			}
			return show(cmd, d)
		},
	}
	root.AddCommand(locate, install)
	return root
}

// releaseVersion resolves an optional release label to a Spark version.
func releaseVersion(args []string) (string, error) {
	label := ""
	if len(args) > 0 {
		label = args[0]
	}
	r, err := spark.ResolveRelease(label)
	if err != nil {
		return "", invalid(err)
	}
	return r.SparkVersion, nil
}

// dirSize is the total size of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}
