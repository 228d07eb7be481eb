"""Word count, as in the EMR tutorial: the 50 most frequent words of a text.

Usage: spark-submit wordcount.py <input> [output] [top-n]

The input may be a local path, a file:// URI, an s3:// URI (read by Spark
through the cluster's store), or an http(s):// URL (fetched first, since
Spark reads neither plain HTTP nor files the executors cannot see). Prints
the result as one JSON list of [word, count] pairs, most frequent first,
ties broken alphabetically. With an output (a path or an s3:// URI), also
writes that JSON there, indented, as the tutorial's words.txt.
"""
import json
import os
import re
import sys
import tempfile
import urllib.request

from pyspark.sql import SparkSession


def local_copy(uri):
    if uri.startswith(("http://", "https://")):
        fd, path = tempfile.mkstemp(suffix=".txt")
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(uri) as resp:
            out.write(resp.read())
        return path
    return uri


def write_text(spark, uri, text):
    """Writes one object: through Hadoop's FileSystem API, which reaches
    s3:// (S3A) and local paths alike, so no AWS library is needed."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    out = fs.create(path, True)
    try:
        out.write(bytearray(text.encode("utf-8")))
    finally:
        out.close()


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit("usage: wordcount.py <input> [output] [top-n]")
    source = local_copy(args[0])
    output, top = None, 50
    for a in args[1:]:
        if a.isdigit():
            top = int(a)
        else:
            output = a
    spark = SparkSession.builder.appName("wordcount").getOrCreate()
    words = (
        spark.sparkContext.textFile(source)
        .flatMap(lambda line: re.findall(r"[a-z']+", line.lower()))
        .map(lambda w: w.strip("'"))
        .filter(lambda w: w)
    )
    counts = words.map(lambda w: (w, 1)).reduceByKey(lambda a, b: a + b)
    result = counts.takeOrdered(top, key=lambda wc: (-wc[1], wc[0]))
    print(json.dumps(result))
    if output:
        write_text(spark, output, json.dumps(result, indent=2) + "\n")
    spark.stop()


if __name__ == "__main__":
    main()
