# Runs JOBS jobs, one after another, each summing 0..N-1 in N tasks of half
# a second. Job j starts once the file go-j exists in GATE; the driver
# writes started-j when it starts and done-j (the sum) when it ends, so a
# test can take something away in the middle of every job.
import os
import sys
import time

from pyspark.sql import SparkSession

jobs, n, gate = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
spark = SparkSession.builder.appName("chaos").getOrCreate()


def slow(i):
    time.sleep(0.5)
    return i


for j in range(1, jobs + 1):
    while not os.path.exists(os.path.join(gate, "go-%d" % j)):
        time.sleep(0.1)
    open(os.path.join(gate, "started-%d" % j), "w").close()
    total = spark.sparkContext.parallelize(range(n), n).map(slow).sum()
    print("JOB %d SUM %d" % (j, total), flush=True)
    with open(os.path.join(gate, "done-%d" % j), "w") as f:
        f.write(str(total))
spark.stop()
