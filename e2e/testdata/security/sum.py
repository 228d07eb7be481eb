# A trivial PySpark application: prints SUM 4950.
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("sum").getOrCreate()
print("SUM", spark.range(100).selectExpr("sum(id) AS s").collect()[0]["s"], flush=True)
spark.stop()
