-- The history of dim_users (SCD type 2): one row per version of a user,
-- valid from elt_valid_from up to elt_valid_to (NULL while current). A user
-- deleted from dim_users gets one deletion row (elt_is_deleted) carrying its
-- last known plan and country.
{{ config(
    materialized='snapshot',
    strategy='timestamp',
    unique_key='user_id',
    updated_at='updated_at',
    hard_deletes='new_record'
) }}
select user_id, plan, country, updated_at
from {{ ref('dim_users') }}
