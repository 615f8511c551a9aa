"""Point-in-time training data on Spark: :func:`careleads.features.build_dataset` per bucket of leads.

A lead's features and label depend only on the lead, its own events up to its scoring moment and its own
outcomes (plus the data set's end and the feature spec, both fixed for the whole run). So the leads are
hashed into buckets by their key, each bucket is handed with its leads' events and outcomes to the very
function the local path uses (``cogroup`` + ``applyInPandas``), and the rows are put back in the leads'
order: the data set equals the local one, lead for lead, while the event history never has to fit on one
machine. The result is one row per lead, written as Parquet and read back for training.

The tables are the *clean* ones (after ingest through the data dictionary), as Spark DataFrames or Parquet
paths, with the dictionary's column names.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from careleads.dictionary import TableSpec
from careleads.errors import InputError
from careleads.features import FeatureSpec, LeadDataset, Target, build_dataset, end_of_data

if TYPE_CHECKING:
    from careleads.text import IntentClassifier, UrgencyClassifier

LEADS_PER_BUCKET = (
    100_000  # default bucket size: a bucket's leads and their history go through pandas at once
)
_BUCKET = "_bucket"
_ORDER = "_order"
_EVENT = "_e_"  # prefixes that keep event and outcome columns apart in the bucket's history
_OUTCOME = "_o_"


def build_dataset_spark(
    leads: Any,
    events: Any,
    outcomes: Any,
    *,
    target: Target,
    table: TableSpec,
    spark: Any,
    data_end: pd.Timestamp | None = None,
    drop: Sequence[str] = (),
    text: bool = False,
    classifiers: tuple[IntentClassifier, UrgencyClassifier] | None = None,
    buckets: int | None = None,
    out_path: str | Path | None = None,
) -> LeadDataset:
    """:func:`careleads.features.build_dataset` computed on Spark; the same data set, lead for lead.

    Parameters
    ----------
    leads, events, outcomes : Spark DataFrame or path
        The clean lead, event and outcome tables (Parquet paths are read by Spark).
    target, table, data_end, drop, text, classifiers
        As for `build_dataset`. `data_end` defaults to :func:`careleads.features.end_of_data` of the
        tables, their latest times found by Spark.
    spark : SparkSession
        The session (see `careleads.engines._spark.spark_session`).
    buckets : int, optional
        Groups of leads handed to pandas at once; default one per 100,000 leads, at least one per core.
    out_path : path, optional
        Where the data set is written as Parquet (one row per lead: features, label, censoring); default a
        temporary folder, removed once it is read back.

    Returns
    -------
    LeadDataset
    """
    from pyspark.sql import functions as F

    lead_frame, event_frame, outcome_frame = (
        _frame(spark, value, name)
        for value, name in ((leads, "leads"), (events, "events"), (outcomes, "outcomes"))
    )
    spec = FeatureSpec.from_table(table, drop=drop, text=text)
    key, time_column = spec.key, spec.time_column
    for frame, name, needed in (
        (lead_frame, "leads", (key, time_column)),
        (event_frame, "events", ("lead_id", "occurred_at", "event_type")),
        (outcome_frame, "outcomes", ("lead_id", "outcome", "occurred_at")),
    ):
        missing = [column for column in needed if column not in frame.columns]
        if missing:
            raise InputError(f"{name}: no column {', '.join(missing)}; give the clean table (after ingest)")
    end = end_of_data(
        lead_frame, event_frame, outcome_frame, time_column=time_column, given=data_end, latest=_latest
    )
    if text:
        # trained once here, not once per worker, as the local build does; they travel with the spec
        from careleads.text import train_text_classifiers

        classifiers = classifiers if classifiers is not None else train_text_classifiers()
        spec = replace(spec, text_classifiers=classifiers)
    n_buckets = buckets or max(
        spark.sparkContext.defaultParallelism, math.ceil(lead_frame.count() / LEADS_PER_BUCKET)
    )
    lead_columns = list(lead_frame.columns)
    event_columns = list(event_frame.columns)
    outcome_columns = list(outcome_frame.columns)

    # the local function, with everything fixed for the whole run; on no leads at all, it tells which
    # columns the data set has
    local = partial(
        build_dataset, target=target, table=table, data_end=end, drop=drop, text=text, classifiers=classifiers
    )
    empty = local(
        _empty(lead_columns, time_column),
        _empty(event_columns, "occurred_at"),
        _empty(outcome_columns, "occurred_at"),
    )
    features = list(empty.X.columns)
    text_features = [name for name in features if not pd.api.types.is_float_dtype(empty.X[name].dtype)]
    schema = _schema(features, text_features)

    def bucket_of(frame: Any, column: str) -> Any:
        return frame.withColumn(_BUCKET, F.pmod(F.hash(F.col(column)), F.lit(n_buckets)))

    ordered = bucket_of(lead_frame.withColumn(_ORDER, F.monotonically_increasing_id()), key)
    history = bucket_of(
        event_frame.select(*[F.col(f"`{c}`").alias(_EVENT + c) for c in event_columns]), _EVENT + "lead_id"
    ).unionByName(
        bucket_of(
            outcome_frame.select(*[F.col(f"`{c}`").alias(_OUTCOME + c) for c in outcome_columns]),
            _OUTCOME + "lead_id",
        ),
        allowMissingColumns=True,
    )

    def per_bucket(bucket_leads: pd.DataFrame, bucket_history: pd.DataFrame) -> pd.DataFrame:
        if bucket_leads.empty:
            return pd.DataFrame({name: pd.Series([], dtype=object) for name in schema.fieldNames()})
        bucket_leads = bucket_leads.sort_values(_ORDER, kind="stable").reset_index(drop=True)
        order = bucket_leads.pop(_ORDER).to_numpy(dtype=np.int64)
        dataset = local(
            _restored(bucket_leads[lead_columns], time_column),
            _restored(_part(bucket_history, _EVENT, event_columns), "occurred_at"),
            _restored(_part(bucket_history, _OUTCOME, outcome_columns), "occurred_at"),
        )
        out: dict[str, Any] = {name: _plain(dataset.X[name]) for name in features}
        out["_y"] = dataset.y.astype("float64")  # NaN where there is no label
        out["_censored"] = dataset.censored.to_numpy(dtype=bool)
        out["_converted_before"] = dataset.converted_before.to_numpy(dtype=bool)
        out["_lead_id"] = _plain(dataset.lead_id.astype("string"))
        out["_as_of"] = pd.to_datetime(dataset.as_of).astype("datetime64[us]")
        out[_ORDER] = order
        return pd.DataFrame(out)

    from careleads.engines._spark import pandas_3_accepted

    with pandas_3_accepted():
        built = (
            ordered.groupBy(_BUCKET)
            .cogroup(history.groupBy(_BUCKET))
            .applyInPandas(per_bucket, schema=schema)
        )
        if out_path is not None:
            built.write.mode("overwrite").parquet(str(out_path))
            return _read(Path(out_path), features, text_features, spec, target, end)
        with tempfile.TemporaryDirectory(prefix="careleads-dataset-") as folder:
            built.write.parquet(str(Path(folder) / "dataset"))
            return _read(Path(folder) / "dataset", features, text_features, spec, target, end)


def _frame(spark: Any, value: Any, name: str) -> Any:
    if isinstance(value, str | Path):
        path = Path(value)
        if not path.exists():
            raise InputError(f"{path}: no such file or folder; give the clean {name} table as Parquet")
        return spark.read.parquet(str(path))
    return value


def _latest(frame: Any, column: str) -> Any:
    """The latest value of `column` in a Spark DataFrame, computed by Spark (None when there is none)."""
    from pyspark.sql import functions as F

    return frame.agg(F.max(F.col(f"`{column}`"))).first()[0]


def _empty(columns: list[str], time_column: str) -> pd.DataFrame:
    return pd.DataFrame(
        {name: pd.Series([], dtype="datetime64[us]" if name == time_column else "string") for name in columns}
    )


def _part(history: pd.DataFrame, prefix: str, columns: list[str]) -> pd.DataFrame:
    """The rows and columns of one table (events or outcomes) in a bucket's history."""
    rows = history[prefix + "lead_id"].notna()
    return history.loc[rows, [prefix + c for c in columns]].set_axis(columns, axis=1).reset_index(drop=True)


def _restored(frame: pd.DataFrame, time_column: str) -> pd.DataFrame:
    """Spark's pandas frame with the clean table's kinds of values: text as text, times as times."""
    out: dict[str, pd.Series] = {}
    for name in frame.columns:
        column = frame[name]
        if name == time_column or pd.api.types.is_datetime64_any_dtype(column.dtype):
            out[name] = pd.to_datetime(column).astype("datetime64[us]")
        elif column.dtype == object:
            values = column.dropna()
            if len(values) and all(isinstance(v, bool | np.bool_) for v in values):
                out[name] = column.astype("boolean")
            else:
                out[name] = column.astype("string")
        else:
            out[name] = column
    return pd.DataFrame(out, index=frame.index)


def _plain(column: pd.Series) -> pd.Series:
    values = column.astype(object)
    return values.where(values.notna(), None)


def _schema(features: list[str], text_features: list[str]) -> Any:
    from pyspark.sql import types as T

    fields = [
        T.StructField(name, T.StringType() if name in text_features else T.DoubleType(), True)
        for name in features
    ]
    fields += [
        T.StructField("_y", T.DoubleType(), True),
        T.StructField("_censored", T.BooleanType(), False),
        T.StructField("_converted_before", T.BooleanType(), False),
        T.StructField("_lead_id", T.StringType(), True),
        T.StructField("_as_of", T.TimestampType(), True),
        T.StructField(_ORDER, T.LongType(), False),
    ]
    return T.StructType(fields)


def _read(
    folder: Path,
    features: list[str],
    text_features: list[str],
    spec: FeatureSpec,
    target: Target,
    data_end: pd.Timestamp,
) -> LeadDataset:
    """The written data set, in the leads' order, with the local data set's types."""
    frame = pq.read_table(folder).to_pandas().sort_values(_ORDER, kind="stable").reset_index(drop=True)
    X = pd.DataFrame(
        {
            name: frame[name].astype("string") if name in text_features else frame[name].astype("float64")
            for name in features
        }
    )
    as_of = pd.to_datetime(frame["_as_of"])
    if as_of.dt.tz is not None:
        as_of = as_of.dt.tz_convert("UTC").dt.tz_localize(None)
    return LeadDataset(
        X=X,
        y=frame["_y"].astype("Int64"),
        lead_id=frame["_lead_id"].astype("string").rename(spec.key),
        as_of=as_of.astype("datetime64[us]"),
        censored=frame["_censored"].astype(bool),
        converted_before=frame["_converted_before"].astype(bool),
        spec=spec,
        target=target,
        data_end=data_end,
    )
