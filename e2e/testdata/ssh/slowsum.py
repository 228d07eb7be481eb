# Sums 0..N-1 in N tasks of a second each: long enough for a test to take
# a worker away while it runs.
import sys
import time

from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("slowsum").getOrCreate()
n = int(sys.argv[1]) if len(sys.argv) > 1 else 60


def slow(i):
    time.sleep(1)
    return i


print("SUM", spark.sparkContext.parallelize(range(n), n).map(slow).sum())
spark.stop()
