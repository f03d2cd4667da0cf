select
  {{ colum_name }}
from t
