-- The user dimension, kept current from the CDC feed of the user table: one
-- MERGE per run applies the newest change of each user, deletes the users
-- whose newest change is a delete, and never lets an older change (a
-- re-delivered sign-up) overwrite a newer one or bring a deleted user back.
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='user_id',
    updated_at='updated_at',
    delete_condition="op = 'D'"
) }}
select
    cast(user_id as integer) as user_id,
    op,
    plan,
    country,
    cast(updated_at as timestamp) as updated_at
from {{ source('raw', 'users_cdc') }}
