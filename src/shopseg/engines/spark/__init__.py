"""The Spark engine: shopseg's stages on Apache Spark, for shops that outgrow one machine.

PySpark is optional (``pip install pyspark``, Java 17): importing this package does not
import it, so ``shopseg`` works without it; each module imports PySpark when used and
:func:`~shopseg.engines.spark.session.spark_session` says what to install when it is missing.

* :mod:`.session`  -- the SparkSession factory (local mode by default, any master);
* :mod:`.features` -- behaviour and category features in Spark, as the DuckDB stage defines them;
* :mod:`.scale`    -- a fitted :class:`~shopseg.cluster.BlockScaler` applied to a Spark frame;
* :mod:`.apply`    -- a saved shopseg model applied to a Spark frame of features;
* :mod:`.kmeans`   -- K-Means fitted with Spark MLlib, saved in shopseg's format.
"""
