// The PostgreSQL JDBC driver's path through c360 serve, as DBeaver, Metabase, Tableau and DataGrip take it:
// DatabaseMetaData (schemas, tables, columns, primary keys, indexes, types), a parameterised query and a
// ResultSet paged by fetch size, a preview, and a slow query (the third argument) stopped by Statement.cancel()
// and by a query timeout. Run as a single-file program (Java 11+) with the driver on the class path:
//   java -cp /usr/share/java/postgresql.jar JdbcMetadata.java jdbc:postgresql://127.0.0.1:PORT/c360 USER SLOW_SQL
// Prints one "what<TAB>value" line per finding; tests/server/test_drivers.py reads them.
import java.sql.*;
import java.util.*;

public class JdbcMetadata {
    static void print(String what, Object value) {
        System.out.println(what + "\t" + value);
    }

    static List<String> column(ResultSet rows, String name) throws SQLException {
        List<String> values = new ArrayList<>();
        while (rows.next()) {
            values.add(rows.getString(name));
        }
        rows.close();
        return values;
    }

    // Runs the slow query on a statement that `stop` ends; prints "SQLSTATE:seconds" for the error it ended with.
    static void interrupted(Connection connection, String what, String sql, boolean cancel) throws Exception {
        try (Statement statement = connection.createStatement()) {
            if (cancel) {
                Thread canceller = new Thread(() -> {
                    try {
                        Thread.sleep(1500);
                        statement.cancel();
                    } catch (Exception error) {
                        throw new RuntimeException(error);
                    }
                });
                canceller.start();
            } else {
                statement.setQueryTimeout(1);
            }
            long started = System.nanoTime();
            try {
                statement.executeQuery(sql).close();
                print(what, "finished");
            } catch (SQLException error) {
                print(what, error.getSQLState() + ":" + (System.nanoTime() - started) / 1_000_000_000L);
            }
        }
        try (Statement statement = connection.createStatement()) {
            print(what + "_then", column(statement.executeQuery("SELECT 2 AS two"), "two"));
        }
    }

    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        try (Connection connection = DriverManager.getConnection(args[0], props)) {
            DatabaseMetaData meta = connection.getMetaData();
            print("product", meta.getDatabaseProductName() + " " + meta.getDatabaseProductVersion());
            print("schemas", column(meta.getSchemas(), "TABLE_SCHEM"));
            print("tables", column(meta.getTables(null, "shop", "%", new String[] {"TABLE"}), "TABLE_NAME"));
            print("views", column(meta.getTables(null, "c360", "%", new String[] {"VIEW"}), "TABLE_NAME"));
            ResultSet columns = meta.getColumns(null, "shop", "products", "%");
            List<String> described = new ArrayList<>();
            while (columns.next()) {
                described.add(columns.getString("COLUMN_NAME") + ":" + columns.getString("TYPE_NAME") + ":"
                        + columns.getInt("DATA_TYPE"));
            }
            print("columns", described);
            ResultSet keys = meta.getPrimaryKeys(null, "shop", "products");
            List<String> key = new ArrayList<>();
            while (keys.next()) {
                key.add(keys.getString("COLUMN_NAME") + ":" + keys.getInt("KEY_SEQ") + ":" + keys.getString("PK_NAME"));
            }
            print("primary_key", key);
            ResultSet indexes = meta.getIndexInfo(null, "shop", "products", false, true);
            List<String> index = new ArrayList<>();
            while (indexes.next()) {
                index.add(indexes.getString("INDEX_NAME") + ":" + indexes.getShort("ORDINAL_POSITION") + ":"
                        + indexes.getString("COLUMN_NAME") + ":" + indexes.getBoolean("NON_UNIQUE"));
            }
            print("indexes", index);
            List<String> types = column(meta.getTypeInfo(), "TYPE_NAME");
            print("types_include_int8_text_numeric", types.contains("int8") && types.contains("text") && types.contains("numeric"));
            try (PreparedStatement statement = connection.prepareStatement(
                    "SELECT name FROM shop.customers WHERE customer_id = ? AND signup < ?")) {
                statement.setLong(1, 42);
                statement.setDate(2, java.sql.Date.valueOf("2026-01-01"));
                print("prepared", column(statement.executeQuery(), "name"));
            }
            try (Statement statement = connection.createStatement()) {
                ResultSet rows = statement.executeQuery("SELECT * FROM shop.products LIMIT 100");
                int width = rows.getMetaData().getColumnCount();
                List<String> preview = new ArrayList<>();
                while (rows.next()) {
                    preview.add(rows.getString(1) + ":" + rows.getString(width));
                }
                print("preview", width + ":" + preview);
            }
            interrupted(connection, "cancel", args[2], true);
            interrupted(connection, "timeout", args[2], false);
            connection.setAutoCommit(false);  // the driver pages with a portal only inside a transaction
            try (Statement statement = connection.createStatement()) {
                statement.setFetchSize(1000);
                ResultSet rows = statement.executeQuery("SELECT n FROM shop.nums ORDER BY n");
                long count = 0, sum = 0;
                while (rows.next()) {
                    count++;
                    sum += rows.getLong(1);
                }
                print("paged", count + ":" + sum);
            }
            connection.commit();
        }
    }
}
