# Keeps one core of each of 2 tasks busy for SECONDS (default 12), then
# prints DONE: a CPU-heavy step for the metrics test.
import sys
import time

from pyspark.sql import SparkSession

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 12
spark = SparkSession.builder.appName("busy").getOrCreate()


def spin(i):
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        n += 1
    return n > 0


print("DONE", all(spark.sparkContext.parallelize(range(2), 2).map(spin).collect()))
spark.stop()
