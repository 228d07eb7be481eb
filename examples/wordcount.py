"""Word count, as in the EMR tutorial: the 50 most frequent words of a text.

Usage: spark-submit wordcount.py <path-or-uri> [top-n]

The input may be a local path, a file:// URI, or an http(s):// URL (fetched
first, since Spark reads neither plain HTTP nor files the executors cannot
see). Prints the result as one JSON list of [word, count] pairs, most
frequent first, ties broken alphabetically.
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


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: wordcount.py <path-or-uri> [top-n]")
    source = local_copy(sys.argv[1])
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 50
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
    spark.stop()


if __name__ == "__main__":
    main()
