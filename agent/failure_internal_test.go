package agent

import (
	"os"
	"path/filepath"
	"testing"
)

// A PySpark error reached through py4j is reported by the JVM exception
// behind it, which names what went wrong (here, the missing input URI).
func TestFailureFromPy4JError(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "stdout"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "stderr"), []byte(`26/12/02 19:57:01 INFO SparkContext: Running Spark version 4.0.1
Traceback (most recent call last):
  File "/tmp/wordcount.py", line 70, in <module>
    main()
py4j.protocol.Py4JJavaError: An error occurred while calling o50.partitions.
: org.apache.hadoop.mapred.InvalidInputException: Input path does not exist: s3://scripts/no-such-text.txt
	at org.apache.hadoop.mapred.FileInputFormat.singleThreadedListStatus(FileInputFormat.java:304)
Caused by: java.io.IOException: Input path does not exist: s3://scripts/no-such-text.txt
	at org.apache.hadoop.mapred.FileInputFormat.singleThreadedListStatus(FileInputFormat.java:278)
`), 0o644)
	d := failureFrom(dir, 1)
	if d.Reason != "org.apache.hadoop.mapred.InvalidInputException" || d.Message != "Input path does not exist: s3://scripts/no-such-text.txt" || d.LogFile != "stderr" {
		t.Errorf("failureFrom = %+v", d)
	}
}
